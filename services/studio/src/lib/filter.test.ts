import { describe, expect, it } from "vitest";
import { number } from "../test/fakeApi";
import { filterNumbers, upsertNumber } from "./filter";

const support = { id: "agent_s", name: "Support Agent", architecture: "pipeline" as const };
const sales = { id: "agent_b", name: "Sales Agent", architecture: "realtime" as const };
const list = [
  number("+12025550100", { inbound_agent: support }),
  number("+12025550101", { outbound_agent: sales }),
  number("+442071838750"),
];

describe("search", () => {
  it("finds numbers by their beginning, as the seed's +1202 example", () => {
    expect(filterNumbers(list, "+1202").map((n) => n.phone_number)).toEqual(["+12025550100", "+12025550101"]);
  });
  it("finds numbers by inbound or outbound agent name, case-insensitively", () => {
    expect(filterNumbers(list, "support").map((n) => n.phone_number)).toEqual(["+12025550100"]);
    expect(filterNumbers(list, "SALES").map((n) => n.phone_number)).toEqual(["+12025550101"]);
  });
  it("returns everything for an empty query and nothing for a miss", () => {
    expect(filterNumbers(list, "  ")).toHaveLength(3);
    expect(filterNumbers(list, "nobody")).toHaveLength(0);
  });
});

describe("upsert", () => {
  it("keeps E.164 order and never lets an older version win", () => {
    const added = upsertNumber(list, number("+13125550100"));
    expect(added.map((n) => n.phone_number)).toEqual(["+12025550100", "+12025550101", "+13125550100", "+442071838750"]);
    const newer = { ...list[0], version: 5, webhook_url: "https://x.example" };
    const updated = upsertNumber(list, newer);
    expect(updated[0].webhook_url).toBe("https://x.example");
    expect(upsertNumber(updated, { ...list[0], version: 2 })[0].webhook_url).toBe("https://x.example");
  });
});
