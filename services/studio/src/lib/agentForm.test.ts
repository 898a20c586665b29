import { describe, expect, it } from "vitest";
import { agent } from "../test/fakeApi";
import { agentProblemField, assignedNumbers, checkAgentForm, createBody, initialAgentForm, updateBody } from "./agentForm";

describe("agent form", () => {
  it("reads the numbers a 409 AgentInUse names", () => {
    expect(assignedNumbers("Agent is assigned to phone numbers +12025550100, +442071838750; unassign it before deleting it")).toEqual([
      "+12025550100",
      "+442071838750",
    ]);
    expect(assignedNumbers(undefined)).toEqual([]);
  });

  it("checks what is cheap to check, only for the architecture's sections", () => {
    const state = { ...initialAgentForm(), name: " ", language: "EN", llm: { provider: "google" as const, model: "", temperature: "2.5", baseUrl: "x" } };
    expect(checkAgentForm(state)).toEqual({
      name: "Name is required",
      language: "Use a language tag such as en-US, es or pt-BR",
      "llm.temperature": "Temperature must be a number from 0 to 2",
    });
    expect(checkAgentForm({ ...state, architecture: "realtime" })).toEqual({ name: "Name is required", language: "Use a language tag such as en-US, es or pt-BR" });
    const openai = { ...state, name: "A", language: "en", llm: { ...state.llm, provider: "openai" as const, temperature: "1" } };
    expect(checkAgentForm(openai)).toEqual({ "llm.base_url": "Enter an http:// or https:// URL (e.g. https://models.example.com/v1)" });
  });

  it("creates with the architecture's sections; a model server only for openai", () => {
    const state = { ...initialAgentForm(), name: "A", architecture: "text" as const, llm: { provider: "openai" as const, model: " gpt ", temperature: "1", baseUrl: "https://m.example.com/v1" } };
    expect(createBody(state)).toMatchObject({ architecture: "text", llm: { provider: "openai", model: "gpt", temperature: 1, base_url: "https://m.example.com/v1" } });
    expect(createBody(state)).not.toHaveProperty("stt");
    expect(createBody({ ...state, llm: { ...state.llm, provider: "google" } }).llm).toEqual({ provider: "google", model: "gpt", temperature: 1 });
  });

  it("updates only what changed, and a new architecture's sections whole", () => {
    const stored = { ...agent("agent_a", "A", "pipeline"), stt: { provider: "deepgram" as const }, llm: { provider: "openai" as const, temperature: 0.7 }, tts: { provider: "cartesia" as const } };
    const state = initialAgentForm(stored);
    expect(updateBody(state, stored)).toEqual({});
    expect(updateBody({ ...state, name: "B " }, stored)).toEqual({ name: "B" });
    expect(updateBody({ ...state, architecture: "realtime" }, stored)).toEqual({ architecture: "realtime", realtime: { provider: "openai" } });
  });

  it("puts the server's errors under their fields", () => {
    expect(agentProblemField("llm.temperature", "x")).toBe("llm.temperature");
    expect(agentProblemField("stt", "base_url is for OpenAI-compatible servers: set provider to openai with it")).toBe("stt.base_url");
    expect(agentProblemField("tts", "pipeline agents have no tts configuration")).toBe("tts.provider");
    expect(agentProblemField("body", "x")).toBe("form");
  });
});
