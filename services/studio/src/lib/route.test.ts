import { describe, expect, it } from "vitest";
import { callIdOf, callPath, callsPath, routeOf } from "./route";

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
});
