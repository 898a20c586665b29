/** Which phone numbers use which agent (the Agents page's "Phone numbers" card and its 409 explanation). */
import type { PhoneNumber } from "./types";

export interface NumberUse {
  /** The number's id, when the page holds it (the link to its details); null when it does not. */
  id: string | null;
  phoneNumber: string;
  inbound: boolean;
  outbound: boolean;
}

/** Agent id -> the numbers that use it, in the numbers' order. */
export function usageByAgent(numbers: PhoneNumber[]): Map<string, NumberUse[]> {
  const usage = new Map<string, NumberUse[]>();
  for (const n of numbers) {
    const ids = new Set([n.inbound_agent?.id, n.outbound_agent?.id].filter((id): id is string => Boolean(id)));
    for (const id of ids) {
      const use = { id: n.id, phoneNumber: n.phone_number, inbound: n.inbound_agent?.id === id, outbound: n.outbound_agent?.id === id };
      usage.set(id, [...(usage.get(id) ?? []), use]);
    }
  }
  return usage;
}

/** The numbers a 409 named, matched to what the page holds (so each can link to its details). */
export function namedUses(named: string[], agentId: string, numbers: PhoneNumber[]): NumberUse[] {
  return named.map((phone) => {
    const n = numbers.find((x) => x.phone_number === phone);
    return {
      id: n?.id ?? null,
      phoneNumber: phone,
      inbound: n?.inbound_agent?.id === agentId,
      outbound: n?.outbound_agent?.id === agentId,
    };
  });
}

export function usageLabel(use: NumberUse): string {
  return use.inbound && use.outbound ? "inbound and outbound" : use.inbound ? "inbound" : use.outbound ? "outbound" : "";
}
