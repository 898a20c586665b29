/** The seed's validation rules, checked in the browser before a request is sent. */

const SEPARATORS = /[\s\-.()/\u00a0]/g;

/** Strip the separators people type inside numbers ("+1 (202) 555-0123" -> "+12025550123"). */
export function normalizePhone(raw: string): string {
  const text = raw.trim();
  return text.startsWith("+") ? "+" + text.slice(1).replace(SEPARATORS, "") : text.replace(SEPARATORS, "");
}

/** E.164: starts with +, a first digit 1-9, 10 to 15 digits after the +. Returns the error or null. */
export function validatePhoneNumber(raw: string): string | null {
  const text = raw.trim();
  if (!text) return "Phone number is required";
  if (!text.startsWith("+")) return "Phone number must be in E.164 format and start with + (e.g. +1234567890)";
  const digits = normalizePhone(text).slice(1);
  if (!/^[0-9]*$/.test(digits)) return "Only digits are allowed after +";
  if (digits.length > 0 && digits[0] === "0") return "The first digit after + must be 1-9";
  if (digits.length < 10) return "Minimum 10 digits after +";
  if (digits.length > 15) return "Maximum 15 digits after +";
  return null;
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function validHost(host: string): boolean {
  if (host.startsWith("[") && host.endsWith("]")) return /^[0-9a-f:.]+$/i.test(host.slice(1, -1)) && host.includes(":");
  if (IPV4.test(host)) return true;
  if (host.length > 253) return false;
  const labels = host.replace(/\.$/, "").split(".");
  return labels.every((l) => HOST_LABEL.test(l)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** A SIP host: `host`, `host:port`, `sip:host` or `sips:host` (optional; empty is fine). */
export function validateTerminationUri(raw: string): string | null {
  let text = raw.trim();
  if (!text) return null;
  const lower = text.toLowerCase();
  for (const scheme of ["sips:", "sip:"]) {
    if (lower.startsWith(scheme)) {
      text = text.slice(scheme.length);
      break;
    }
  }
  const example = "Use host, host:port, sip:host or sips:host, e.g. your-trunk.pstn.twilio.com";
  if (!text || /[@;/?#\s]/.test(text) || text.includes("://")) return `Termination URI must be a valid SIP host. ${example}`;
  let host = text;
  let port: string | null = null;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end === -1) return `Termination URI must be a valid SIP host. ${example}`;
    host = text.slice(0, end + 1);
    const rest = text.slice(end + 1);
    if (rest && !rest.startsWith(":")) return `Termination URI must be a valid SIP host. ${example}`;
    port = rest ? rest.slice(1) : null;
  } else if (text.split(":").length === 2) {
    [host, port] = text.split(":");
  } else if (text.includes(":")) {
    return `Termination URI must be a valid SIP host. ${example}`;
  }
  if (port !== null && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return "Termination URI port must be a number from 1 to 65535";
  }
  if (!validHost(host)) return `Termination URI must be a valid SIP host. ${example}`;
  return null;
}

/** SIP username: no spaces, colons or @. */
export function validateSipUsername(raw: string): string | null {
  if (!raw) return null;
  if (raw.length > 128) return "SIP username must be at most 128 characters";
  if (/[\s:@]/.test(raw)) return "SIP username must not contain spaces, : or @";
  return null;
}

export function validateSipPassword(raw: string): string | null {
  if (raw.length > 128) return "SIP password must be at most 128 characters";
  return null;
}

/** Webhook URL: absolute http(s) (optional). */
export function validateWebhookUrl(raw: string): string | null {
  const text = raw.trim();
  if (!text) return null;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "Webhook URL must be an absolute http or https URL, e.g. https://example.com/hooks";
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !url.hostname) {
    return "Webhook URL must be an absolute http or https URL, e.g. https://example.com/hooks";
  }
  if (url.username || url.password) return "Webhook URL must not carry credentials";
  return null;
}
