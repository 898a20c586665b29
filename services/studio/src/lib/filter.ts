import { newerSnapshot } from "./freshness";
import type { PhoneNumber } from "./types";

/** The seed's search: case-insensitive substring of the number, the inbound or the outbound agent's name. */
export function matchesSearch(number: PhoneNumber, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return (
    number.phone_number.toLowerCase().includes(q) ||
    (number.inbound_agent?.name.toLowerCase().includes(q) ?? false) ||
    (number.outbound_agent?.name.toLowerCase().includes(q) ?? false)
  );
}

export function filterNumbers(numbers: PhoneNumber[], query: string): PhoneNumber[] {
  const q = query.trim();
  return q ? numbers.filter((n) => matchesSearch(n, q)) : numbers;
}

/** Keep the list in E.164 order, as the server returns it. */
export function sortNumbers(numbers: PhoneNumber[]): PhoneNumber[] {
  return [...numbers].sort((a, b) => (a.phone_number < b.phone_number ? -1 : a.phone_number > b.phone_number ? 1 : 0));
}

/** Insert or replace one number (by id), keeping the order; an older read never wins (see `newerSnapshot`). */
export function upsertNumber(numbers: PhoneNumber[], number: PhoneNumber): PhoneNumber[] {
  const index = numbers.findIndex((n) => n.id === number.id);
  if (index === -1) return sortNumbers([...numbers, number]);
  const current = numbers[index];
  const newer = newerSnapshot(current, number);
  if (newer === current) return numbers;
  const next = [...numbers];
  next[index] = newer;
  return current.phone_number === newer.phone_number ? next : sortNumbers(next);
}
