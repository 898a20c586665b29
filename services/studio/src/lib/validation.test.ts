import { describe, expect, it } from "vitest";
import { normalizePhone, validatePhoneNumber, validateTerminationUri, validateWebhookUrl } from "./validation";

describe("phone number rules (E.164)", () => {
  it.each(["+1234567890", "+12025550123", "+442071838750", "+123456789012345", "+1 (202) 555-0123"])("accepts %s", (value) => {
    expect(validatePhoneNumber(value)).toBeNull();
  });
  it.each([
    ["", "Phone number is required"],
    ["1234567890", "must be in E.164 format and start with +"],
    ["+123456789", "Minimum 10 digits after +"],
    ["+1234567890123456", "Maximum 15 digits after +"],
    ["+0234567890", "first digit after + must be 1-9"],
    ["+12345abc890", "Only digits"],
  ])("refuses %j", (value, message) => {
    expect(validatePhoneNumber(value)).toContain(message);
  });
  it("normalizes the separators people type", () => {
    expect(normalizePhone(" +1 (202) 555-0123 ")).toBe("+12025550123");
  });
});

describe("termination URI rules", () => {
  it.each(["your-trunk.pstn.twilio.com", "your-trunk.pstn.twilio.com:5061", "sip:trunk.example.com", "sips:trunk.example.com:5061", "10.0.0.1", "[2001:db8::1]:5060", ""])(
    "accepts %j",
    (value) => expect(validateTerminationUri(value)).toBeNull(),
  );
  it.each(["https://trunk.example.com", "user@trunk.example.com", "trunk.example.com;transport=tls", "trunk.example.com:99999", "bad host", "-bad-.com", "a:b:c"])(
    "refuses %j",
    (value) => expect(validateTerminationUri(value)).not.toBeNull(),
  );
});

describe("webhook URL rules", () => {
  it("accepts http(s) URLs and empty", () => {
    expect(validateWebhookUrl("https://example.com/hooks")).toBeNull();
    expect(validateWebhookUrl("")).toBeNull();
  });
  it("refuses other schemes and credentials", () => {
    expect(validateWebhookUrl("ftp://example.com")).not.toBeNull();
    expect(validateWebhookUrl("example.com")).not.toBeNull();
    expect(validateWebhookUrl("https://u:p@example.com")).toContain("credentials");
  });
});
