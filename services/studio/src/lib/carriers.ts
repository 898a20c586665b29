/** Carrier profiles (`GET /carriers`) as the Studio reads them: which one a number uses, and what its
 * inbound side accepts. The server decides; these only explain and prefill. */
import type { CarrierProfile, PhoneNumber } from "./types";

export const CUSTOM_CARRIER = "custom";

/** The profile with this id, if loaded. */
export function findCarrier(carriers: CarrierProfile[], id: string | null | undefined): CarrierProfile | null {
  return carriers.find((c) => c.id === id) ?? null;
}

/** The carrier numbers-api recognises from a termination URI (`*.pstn.twilio.com` is twilio), else custom. */
export function carrierOfHost(carriers: CarrierProfile[], terminationUri: string): string {
  const host = terminationUri
    .trim()
    .toLowerCase()
    .replace(/^sips?:/, "")
    .replace(/:\d+$/, "")
    .replace(/\.$/, "");
  if (!host) return CUSTOM_CARRIER;
  const found = carriers.find((c) => c.termination_host_suffixes.some((suffix) => host.endsWith(suffix.toLowerCase())));
  return found?.id ?? CUSTOM_CARRIER;
}

/** How a number's inbound side is secured: its own ranges, its carrier's, credentials, any source, or open. */
export interface InboundSecurity {
  /** The addresses calls may come from (the number's own, else its carrier's). */
  addresses: number;
  /** Whether those addresses are the carrier profile's. */
  fromCarrier: boolean;
  credentials: boolean;
  anySource: boolean;
  /** Nothing restricts who may call in: the server refuses an inbound agent on such a number. */
  open: boolean;
}

export function inboundSecurity(number: PhoneNumber, profile: CarrierProfile | null): InboundSecurity {
  const own = number.inbound_allowed_addresses;
  const addresses = own ? own.length : (profile?.signalling_addresses.length ?? 0);
  const credentials = number.has_inbound_auth_password;
  const anySource = number.inbound_allow_any_source;
  // Profiles not loaded yet: the carrier's ranges are unknown, so do not call the number open.
  const unknown = !own && !profile;
  return { addresses, fromCarrier: !own, credentials, anySource, open: !unknown && !anySource && !credentials && addresses === 0 };
}

/** One line for the details: who may call this number. */
export function inboundSummary(security: InboundSecurity, profile: CarrierProfile | null): string {
  if (security.anySource) return "Accepts calls from any address";
  const parts: string[] = [];
  if (security.addresses > 0) {
    const ranges = `${security.addresses} ${security.addresses === 1 ? "range" : "ranges"}`;
    parts.push(security.fromCarrier ? `the carrier's ${ranges}${profile ? ` (${profile.name})` : ""}` : `${ranges} set on this number`);
  }
  if (security.credentials) parts.push("digest credentials");
  if (parts.length === 0) return security.open ? "Open: no allowed addresses or credentials" : "The carrier's ranges";
  return `Only calls from ${parts.join(" or with ")}`;
}
