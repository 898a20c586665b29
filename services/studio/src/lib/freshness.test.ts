import { describe, expect, it } from "vitest";
import { number } from "../test/fakeApi";
import { laterResult, mergeNumbers, newerSnapshot, withSyncResult } from "./freshness";
import { upsertNumber } from "./filter";

const pending = { state: "pending", error: null, synced_at: null } as const;
const synced = (at: string) => ({ state: "synced", error: null, synced_at: at }) as const;
const failed = (at: string) => ({ state: "failed", error: "LiveKit refused the trunk", synced_at: at }) as const;

describe("which read of a number is newer", () => {
  it("takes the higher version, whatever its sync says", () => {
    const old = number("+12025550100", { version: 2, sync: synced("2025-01-01T00:01:00Z") });
    const changed = number("+12025550100", { version: 3, sync: pending });
    expect(newerSnapshot(old, changed)).toBe(changed);
    expect(newerSnapshot(changed, old)).toBe(changed);
  });

  it("never puts pending back over a result for the same version, but takes the read's other fields", () => {
    const held = number("+12025550100", { version: 3, sync: synced("2025-01-01T00:01:00Z") });
    const readBefore = number("+12025550100", { version: 3, sync: pending, webhook_url: "https://example.com/hooks" });
    expect(newerSnapshot(held, readBefore)).toEqual({ ...readBefore, sync: held.sync });
    expect(upsertNumber([held], readBefore)[0].sync.state).toBe("synced");
  });

  it("takes the later of two results for the same version", () => {
    const first = number("+12025550100", { version: 3, sync: failed("2025-01-01T00:01:00Z") });
    const retried = number("+12025550100", { version: 3, sync: synced("2025-01-01T00:02:00Z") });
    expect(newerSnapshot(first, retried).sync.state).toBe("synced");
    expect(newerSnapshot(retried, first).sync.state).toBe("synced");
  });

  it("applies a result that arrived before the change it is about, once that change is read", () => {
    const result = laterResult(undefined, { version: 3, sync: synced("2025-01-01T00:01:00Z") });
    const patchResponse = number("+12025550100", { version: 3, sync: pending });
    expect(withSyncResult(patchResponse, result).sync.state).toBe("synced");
    expect(withSyncResult(number("+12025550100", { version: 4, sync: pending }), result).sync.state).toBe("pending");
    expect(laterResult(result, { version: 2, sync: synced("2025-01-01T00:03:00Z") })).toBe(result);
  });

  it("merges a fresh list: membership from the server, each number the newer of the two reads", () => {
    const held = [number("+12025550100", { version: 3, sync: synced("2025-01-01T00:01:00Z") }), number("+12025550101", { version: 1 })];
    const list = [number("+12025550100", { version: 3, sync: pending }), number("+12025550102", { version: 1 })];
    const merged = mergeNumbers(held, list);
    expect(merged.map((n) => n.phone_number)).toEqual(["+12025550100", "+12025550102"]);
    expect(merged[0].sync.state).toBe("synced");
  });
});
