/**
 * The Add / Edit dialog's carrier, inbound security and advanced SIP fields: their state, the cheap
 * checks made before sending, and the body they add. `null` means "the carrier profile's" for the
 * transport, media encryption and number format, so picking another carrier shows its defaults and
 * leaves them to the server (which fills them from the profile).
 */
import { validateSipPassword, validateSipUsername } from "./validation";
import type { CarrierProfile, MediaEncryption, NumberFormat, PhoneNumber, PhoneNumberWrite, SipTransport } from "./types";

export interface HeaderRow {
  name: string;
  value: string;
}

export interface SipFormState {
  /** A profile id; "" (add only): recognised from the termination URI. */
  carrier: string;
  transport: SipTransport | null;
  mediaEncryption: MediaEncryption | null;
  format: NumberFormat | null;
  headers: HeaderRow[];
  /** The allowed addresses textarea, one per line. */
  allowed: string;
  inboundUser: string;
  inboundPassword: string;
  clearInboundPassword: boolean;
  anySource: boolean;
}

export const SIP_FIELDS = [
  "carrier",
  "inbound_allowed_addresses",
  "inbound_auth_username",
  "inbound_auth_password",
  "inbound_allow_any_source",
  "sip_transport",
  "media_encryption",
  "number_format",
  "sip_headers",
] as const;
export type SipField = (typeof SIP_FIELDS)[number];
export type SipErrors = Partial<Record<SipField, string>>;

/** The fields inside the collapsed "Advanced SIP" block (opened when one has an error). */
export const ADVANCED_FIELDS: SipField[] = ["sip_transport", "media_encryption", "number_format", "sip_headers"];

export const MAX_ALLOWED_ADDRESSES = 100;
const HEADER_NAME = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const TECH_PREFIX = /^[0-9*#]{0,10}$/;

export function initialSipForm(number?: PhoneNumber | null): SipFormState {
  return {
    carrier: number?.carrier ?? "",
    transport: number?.sip_transport ?? null,
    mediaEncryption: number?.media_encryption ?? null,
    format: number?.number_format ?? null,
    headers: Object.entries(number?.sip_headers ?? {}).map(([name, value]) => ({ name, value })),
    allowed: (number?.inbound_allowed_addresses ?? []).join("\n"),
    inboundUser: number?.inbound_auth_username ?? "",
    inboundPassword: "",
    clearInboundPassword: false,
    anySource: number?.inbound_allow_any_source ?? false,
  };
}

/** The textarea's non-empty lines, trimmed. */
export function allowedLines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}

/** The cheap checks; the server's 422 is the authority on addresses, headers and the rest. */
export function checkSipForm(state: SipFormState, hasSavedInboundPassword: boolean): SipErrors {
  const errors: SipErrors = {};
  const lines = allowedLines(state.allowed);
  const spaced = lines.find((line) => /\s/.test(line));
  if (spaced) errors.inbound_allowed_addresses = `One address per line: "${spaced}"`;
  else if (lines.length > MAX_ALLOWED_ADDRESSES) errors.inbound_allowed_addresses = `At most ${MAX_ALLOWED_ADDRESSES} addresses`;
  const user = validateSipUsername(state.inboundUser.trim());
  if (user) errors.inbound_auth_username = user.replace("SIP username", "Inbound username");
  const password = validateSipPassword(state.inboundPassword);
  if (password) errors.inbound_auth_password = password.replace("SIP password", "Inbound password");
  const passwordKept = (hasSavedInboundPassword && !state.clearInboundPassword) || Boolean(state.inboundPassword);
  if (passwordKept && !state.inboundUser.trim() && !errors.inbound_auth_username) {
    errors.inbound_auth_username = "Inbound credentials need a username as well as a password";
  }
  if (state.format && !TECH_PREFIX.test(state.format.tech_prefix)) errors.number_format = "Tech prefix: up to 10 digits, * or #";
  const seen = new Set<string>();
  for (const row of state.headers) {
    const name = row.name.trim();
    if (!name && !row.value.trim()) continue;
    if (!name) errors.sip_headers = "Each header needs a name";
    else if (!HEADER_NAME.test(name)) errors.sip_headers = `Header name "${name}" must be a SIP token (letters, digits, -.!%*_+\`'~)`;
    else if (seen.has(name.toLowerCase())) errors.sip_headers = `Header "${name}" appears twice`;
    seen.add(name.toLowerCase());
    if (errors.sip_headers) break;
  }
  return errors;
}

function headersOf(rows: HeaderRow[]): Record<string, string> | null {
  const entries = rows.filter((r) => r.name.trim()).map((r) => [r.name.trim(), r.value] as const);
  return entries.length ? Object.fromEntries(entries) : null;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What the fields add to a create (`number` absent: only what differs from the carrier's defaults)
 * or to a PATCH (only what changed). `profile` is the carrier the number will use.
 */
export function sipFormBody(state: SipFormState, number: PhoneNumber | null | undefined, profile: CarrierProfile | null): PhoneNumberWrite {
  const body: PhoneNumberWrite = {};
  const lines = allowedLines(state.allowed);
  const allowed = lines.length ? lines : null;
  const headers = headersOf(state.headers);
  const user = state.inboundUser.trim() || null;
  const carrierChanged = number ? state.carrier !== number.carrier : Boolean(state.carrier);
  if (carrierChanged) body.carrier = state.carrier;
  // Against the carrier's defaults when it is new (the server fills those), else against the number's.
  const transportBase = !number || carrierChanged ? (profile?.transport ?? null) : number.sip_transport;
  const mediaBase = !number || carrierChanged ? (profile?.media_encryption ?? null) : number.media_encryption;
  if (state.transport !== null && state.transport !== transportBase) body.sip_transport = state.transport;
  if (state.mediaEncryption !== null && state.mediaEncryption !== mediaBase) body.media_encryption = state.mediaEncryption;
  if (!number) {
    if (allowed) body.inbound_allowed_addresses = allowed;
    if (user) body.inbound_auth_username = user;
    if (state.inboundPassword) body.inbound_auth_password = state.inboundPassword;
    if (state.anySource) body.inbound_allow_any_source = true;
    if (state.format && !same(state.format, profile?.number_format)) body.number_format = state.format;
    if (headers) body.sip_headers = headers;
    return body;
  }
  if (!same(allowed, number.inbound_allowed_addresses ?? null)) body.inbound_allowed_addresses = allowed;
  if (user !== (number.inbound_auth_username ?? null)) body.inbound_auth_username = user;
  if (state.inboundPassword) body.inbound_auth_password = state.inboundPassword;
  else if (state.clearInboundPassword) body.inbound_auth_password = null;
  if (state.anySource !== number.inbound_allow_any_source) body.inbound_allow_any_source = state.anySource;
  if (!same(state.format, number.number_format ?? null)) body.number_format = state.format;
  if (!same(headers, number.sip_headers ?? null)) body.sip_headers = headers;
  return body;
}

/** The dialog field a server problem names (`number_format.tech_prefix` is number_format). */
export function problemField<T extends string>(field: string, known: readonly T[]): T | null {
  const parts = field.split(".");
  for (let i = parts.length - 1; i >= 0; i--) {
    if ((known as readonly string[]).includes(parts[i])) return parts[i] as T;
  }
  return null;
}
