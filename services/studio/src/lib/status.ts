/** The seed's status badge rule, as numbers-api applies it: what an inactive number still lacks. */
import type { PhoneNumber } from "./types";

/** What keeps a number from being active (empty when nothing does). */
export function missingForActive(number: PhoneNumber): string[] {
  const missing: string[] = [];
  if (!number.termination_uri) missing.push("a Termination URI");
  if (!number.inbound_agent && !number.outbound_agent) missing.push("an inbound or outbound agent");
  if (number.outbound_agent && !(number.sip_username && number.has_sip_password)) missing.push("SIP credentials (username and password)");
  return missing;
}

/** Why an inactive number cannot place calls, in the seed's words; null when it is active. */
export function inactiveReason(number: PhoneNumber): string | null {
  if (number.status === "active") return null;
  const missing = missingForActive(number);
  return missing.length > 0
    ? `Number is not fully configured: add ${missing.join(" and ")} to place calls.`
    : "Number is not fully configured, so it cannot place calls.";
}
