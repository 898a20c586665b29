/**
 * Which of two reads of a number is the newer one. A change bumps `version` and resets the sync to
 * pending; trunk-sync's result then settles that same version without bumping it. So at equal
 * versions a settled sync (synced / failed) is newer than pending, and the later result wins: a
 * response read before the result was recorded must not put "Sync pending" back.
 */
import type { PhoneNumber, PhoneNumberCheck, SyncStatus } from "./types";

/** trunk-sync's report on one version of a number (`telephony.phone_number.synced` / `.sync_failed`). */
export interface SyncResult {
  version?: number;
  sync: SyncStatus;
}

function settledAt(sync: SyncStatus): number {
  if (sync.state === "pending") return -Infinity;
  const at = sync.synced_at ? Date.parse(sync.synced_at) : NaN;
  return Number.isNaN(at) ? 0 : at;
}

/** Whether `a` is a later sync outcome than `b` for the same version. */
function laterSync(a: SyncStatus, b: SyncStatus): boolean {
  return settledAt(a) > settledAt(b);
}

/** The newer of two reads of one number: the higher version; at the same version, its latest sync.
 * Either way the later trunk check stays (a check does not change the number's version). */
export function newerSnapshot(current: PhoneNumber, incoming: PhoneNumber): PhoneNumber {
  let newer: PhoneNumber;
  if (current.version !== undefined && incoming.version !== undefined && current.version !== incoming.version) {
    newer = incoming.version > current.version ? incoming : current;
  } else {
    newer = laterSync(current.sync, incoming.sync) ? { ...incoming, sync: current.sync } : incoming;
  }
  const other = newer === current ? incoming : current;
  return withCheck(newer, other.last_check);
}

function checkedAt(check: PhoneNumberCheck | null | undefined): number {
  const at = check ? Date.parse(check.checked_at) : NaN;
  return Number.isNaN(at) ? -Infinity : at;
}

/** A number with a trunk check applied, if it is later than the one it has. */
export function withCheck(number: PhoneNumber, check: PhoneNumberCheck | null | undefined): PhoneNumber {
  return check && checkedAt(check) > checkedAt(number.last_check) ? { ...number, last_check: check } : number;
}

/** A number with a sync result applied, if the result is about this version (or a newer one) and later. */
export function withSyncResult(number: PhoneNumber, result: SyncResult | undefined): PhoneNumber {
  if (!result) return number;
  if (result.version !== undefined && number.version !== undefined && result.version < number.version) return number;
  return laterSync(result.sync, number.sync) ? { ...number, sync: result.sync } : number;
}

/** The later of two results about a number: the higher version, then the later outcome. */
export function laterResult(current: SyncResult | undefined, incoming: SyncResult): SyncResult {
  if (!current) return incoming;
  if (current.version !== undefined && incoming.version !== undefined && current.version !== incoming.version) {
    return incoming.version > current.version ? incoming : current;
  }
  return laterSync(current.sync, incoming.sync) ? current : incoming;
}

/** A fresh list from the server, each number kept as it is here when what is here is newer. */
export function mergeNumbers(current: PhoneNumber[], incoming: PhoneNumber[]): PhoneNumber[] {
  const held = new Map(current.map((n) => [n.id, n]));
  return incoming.map((number) => {
    const mine = held.get(number.id);
    return mine ? newerSnapshot(mine, number) : number;
  });
}
