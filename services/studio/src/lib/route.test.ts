import { describe, expect, it } from "vitest";
import { callIdOf, callPath, callsPath, campaignIdOf, campaignPath, routeOf } from "./route";

describe("the Studio's addresses", () => {
  it("tells the pages apart, a call's page included", () => {
    expect(routeOf("/telephony/")).toBe("numbers");
    expect(routeOf("/telephony/agents")).toBe("agents");
    expect(routeOf("/telephony/calls")).toBe("calls");
    expect(routeOf("/telephony/calls/")).toBe("calls");
    expect(routeOf("/telephony/calls/call_4m6q")).toBe("call");
    expect(callIdOf("/telephony/calls/call_4m6q")).toBe("call_4m6q");
    expect(callIdOf("/telephony/calls")).toBeNull();
  });

  it("writes a call's address and the filtered history's", () => {
    expect(callPath("call_1")).toBe("/telephony/calls/call_1");
    expect(callsPath()).toBe("/telephony/calls");
    expect(callsPath({ phone_number: "+12025550100", status: "failed" })).toBe("/telephony/calls?phone_number=%2B12025550100&status=failed");
  });

  it("tells the campaigns list, a new campaign and a campaign's page apart", () => {
    expect(routeOf("/telephony/campaigns")).toBe("campaigns");
    expect(routeOf("/telephony/campaigns/")).toBe("campaigns");
    expect(routeOf("/telephony/campaigns/new")).toBe("campaign-new");
    expect(routeOf("/telephony/campaigns/cmp_7")).toBe("campaign");
    expect(campaignIdOf("/telephony/campaigns/cmp_7")).toBe("cmp_7");
    expect(campaignIdOf("/telephony/campaigns/new")).toBeNull();
    expect(campaignPath("cmp_7")).toBe("/telephony/campaigns/cmp_7");
    expect(campaignPath("cmp_7", "failed")).toBe("/telephony/campaigns/cmp_7?status=failed");
  });
});
