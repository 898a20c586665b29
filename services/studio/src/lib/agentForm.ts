/**
 * The Create / Edit Agent form: its state, the cheap checks numbers-api would also make, the request
 * body (Edit sends only what changed), and where the server's field errors land.
 *
 * The rules mirror numbers-api's `AgentCreate` / `AgentUpdate` (schemas.py) and the configs of
 * talkifai_common/voice.py; the server stays the judge (a model server's host policy, say) and its
 * 422s land under the field they name.
 */
import type {
  Agent,
  AgentCreate,
  AgentUpdate,
  Architecture,
  LLMConfig,
  LLMProvider,
  RealtimeConfig,
  RealtimeProvider,
  STTConfig,
  STTProvider,
  TTSConfig,
  TTSProvider,
} from "./types";

/** voice.py's defaults: what numbers-api fills in for a new agent, shown so the owner sees them. */
export const DEFAULT_INSTRUCTIONS =
  "You are a friendly, concise voice assistant on a phone call. Speak naturally, keep answers short, and ask one question at a time.";
export const DEFAULT_GREETING = "Hello! How can I help you today?";
export const DEFAULT_LANGUAGE = "en-US";
const DEFAULT_TEMPERATURE = 0.7;

export const LANGUAGE_PATTERN = /^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;
export const LIMITS = { name: 100, instructions: 20_000, greeting: 1_000, language: 35, model: 200, baseUrl: 2_000 } as const;

export const ARCHITECTURE_LABELS: Record<Architecture, string> = { pipeline: "Pipeline", realtime: "Realtime", text: "Text" };
export const ARCHITECTURE_HELP: Record<Architecture, string> = {
  pipeline: "Speech-to-text, a language model and text-to-speech: takes and makes phone calls",
  realtime: "One speech-to-speech model: takes and makes phone calls",
  text: "A language model for chat only: cannot be put on a phone number",
};

// Records, so a provider added to numbers-api's contract fails the typecheck until it is listed here.
export const STT_PROVIDERS: Record<STTProvider, string> = { deepgram: "Deepgram", openai: "OpenAI", google: "Google" };
export const LLM_PROVIDERS: Record<LLMProvider, string> = { openai: "OpenAI", google: "Google" };
export const TTS_PROVIDERS: Record<TTSProvider, string> = {
  cartesia: "Cartesia",
  elevenlabs: "ElevenLabs",
  openai: "OpenAI",
  deepgram: "Deepgram",
  google: "Google",
  espeak: "eSpeak NG (local, no account)",
};
export const REALTIME_PROVIDERS: Record<RealtimeProvider, string> = { openai: "OpenAI", google: "Google" };

export type Section = "stt" | "llm" | "tts" | "realtime";
/** The configuration sections each architecture has (numbers-api refuses the others). */
export const SECTIONS: Record<Architecture, Section[]> = { pipeline: ["stt", "llm", "tts"], realtime: ["realtime"], text: ["llm"] };
export const SECTION_TITLES: Record<Section, string> = { stt: "Speech to text", llm: "Language model", tts: "Text to speech", realtime: "Realtime model" };

export interface AgentFormState {
  name: string;
  architecture: Architecture;
  instructions: string;
  greeting: string;
  language: string;
  stt: { provider: STTProvider; model: string; baseUrl: string };
  llm: { provider: LLMProvider; model: string; temperature: string; baseUrl: string };
  tts: { provider: TTSProvider; model: string; voice: string; baseUrl: string };
  realtime: { provider: RealtimeProvider; model: string; voice: string };
}

/** Every field the form shows, named as numbers-api names them in a 422 (`errors[].field`). */
export const AGENT_FIELDS = [
  "name",
  "architecture",
  "instructions",
  "greeting",
  "language",
  "stt.provider",
  "stt.model",
  "stt.base_url",
  "llm.provider",
  "llm.model",
  "llm.temperature",
  "llm.base_url",
  "tts.provider",
  "tts.model",
  "tts.voice",
  "tts.base_url",
  "realtime.provider",
  "realtime.model",
  "realtime.voice",
] as const;
export type AgentField = (typeof AGENT_FIELDS)[number];
export type AgentErrors = Partial<Record<AgentField | "form", string>>;

export function initialAgentForm(agent?: Agent | null): AgentFormState {
  return {
    name: agent?.name ?? "",
    architecture: agent?.architecture ?? "pipeline",
    instructions: agent?.instructions ?? DEFAULT_INSTRUCTIONS,
    greeting: agent?.greeting ?? DEFAULT_GREETING,
    language: agent?.language ?? DEFAULT_LANGUAGE,
    stt: { provider: agent?.stt?.provider ?? "deepgram", model: agent?.stt?.model ?? "", baseUrl: agent?.stt?.base_url ?? "" },
    llm: {
      provider: agent?.llm?.provider ?? "openai",
      model: agent?.llm?.model ?? "",
      temperature: String(agent?.llm?.temperature ?? DEFAULT_TEMPERATURE),
      baseUrl: agent?.llm?.base_url ?? "",
    },
    tts: {
      provider: agent?.tts?.provider ?? "cartesia",
      model: agent?.tts?.model ?? "",
      voice: agent?.tts?.voice ?? "",
      baseUrl: agent?.tts?.base_url ?? "",
    },
    realtime: { provider: agent?.realtime?.provider ?? "openai", model: agent?.realtime?.model ?? "", voice: agent?.realtime?.voice ?? "" },
  };
}

const HTTP_URL = /^https?:\/\/[^\s/?#]+(\/\S*)?$/i;

function tooLong(value: string, max: number): string | null {
  return value.length > max ? `At most ${max.toLocaleString("en-US")} characters` : null;
}

/** A model server only for the `openai` provider (numbers-api refuses it elsewhere). */
export function takesBaseUrl(provider: string): boolean {
  return provider === "openai";
}

/** One field's cheap check; null when fine (the server checks the rest). */
export function checkAgentField(state: AgentFormState, field: AgentField): string | null {
  switch (field) {
    case "name":
      return state.name.trim() ? tooLong(state.name.trim(), LIMITS.name) : "Name is required";
    case "instructions":
      return state.instructions.trim() ? tooLong(state.instructions.trim(), LIMITS.instructions) : "Instructions are required";
    case "greeting":
      return tooLong(state.greeting.trim(), LIMITS.greeting);
    case "language": {
      const tag = state.language.trim();
      if (!tag) return "Language is required (e.g. en-US)";
      if (tag.length > LIMITS.language || !LANGUAGE_PATTERN.test(tag)) return "Use a language tag such as en-US, es or pt-BR";
      return null;
    }
    case "llm.temperature": {
      const text = state.llm.temperature.trim();
      const value = Number(text);
      if (!text || !Number.isFinite(value) || value < 0 || value > 2) return "Temperature must be a number from 0 to 2";
      return null;
    }
    case "stt.model":
      return tooLong(state.stt.model.trim(), LIMITS.model);
    case "llm.model":
      return tooLong(state.llm.model.trim(), LIMITS.model);
    case "tts.model":
      return tooLong(state.tts.model.trim(), LIMITS.model);
    case "tts.voice":
      return tooLong(state.tts.voice.trim(), LIMITS.model);
    case "realtime.model":
      return tooLong(state.realtime.model.trim(), LIMITS.model);
    case "realtime.voice":
      return tooLong(state.realtime.voice.trim(), LIMITS.model);
    case "stt.base_url":
    case "llm.base_url":
    case "tts.base_url": {
      const section = field.split(".")[0] as "stt" | "llm" | "tts";
      const url = state[section].baseUrl.trim();
      if (!url || !takesBaseUrl(state[section].provider)) return null;
      if (url.length > LIMITS.baseUrl || !HTTP_URL.test(url)) return "Enter an http:// or https:// URL (e.g. https://models.example.com/v1)";
      return null;
    }
    default:
      return null;
  }
}

/** The fields the form shows for this architecture. */
export function visibleFields(state: AgentFormState): AgentField[] {
  const sections = SECTIONS[state.architecture];
  return AGENT_FIELDS.filter((f) => !f.includes(".") || sections.includes(f.split(".")[0] as Section));
}

/** Every cheap check at once (on Save). */
export function checkAgentForm(state: AgentFormState): AgentErrors {
  const errors: AgentErrors = {};
  for (const field of visibleFields(state)) {
    const error = checkAgentField(state, field);
    if (error) errors[field] = error;
  }
  return errors;
}

function optional<K extends string>(key: K, value: string): Partial<Record<K, string>> {
  const text = value.trim();
  return text ? ({ [key]: text } as Record<K, string>) : {};
}

function baseUrl(provider: string, value: string): { base_url?: string } {
  return takesBaseUrl(provider) ? optional("base_url", value) : {};
}

/** The sections' bodies, in one key order, so an edit can compare them with the agent's. */
export function sectionBody(state: AgentFormState, section: "stt"): STTConfig;
export function sectionBody(state: AgentFormState, section: "llm"): LLMConfig;
export function sectionBody(state: AgentFormState, section: "tts"): TTSConfig;
export function sectionBody(state: AgentFormState, section: "realtime"): RealtimeConfig;
export function sectionBody(state: AgentFormState, section: Section): STTConfig | LLMConfig | TTSConfig | RealtimeConfig;
export function sectionBody(state: AgentFormState, section: Section): STTConfig | LLMConfig | TTSConfig | RealtimeConfig {
  switch (section) {
    case "stt":
      return { provider: state.stt.provider, ...optional("model", state.stt.model), ...baseUrl(state.stt.provider, state.stt.baseUrl) };
    case "llm":
      return {
        provider: state.llm.provider,
        ...optional("model", state.llm.model),
        temperature: Number(state.llm.temperature.trim()),
        ...baseUrl(state.llm.provider, state.llm.baseUrl),
      };
    case "tts":
      return {
        provider: state.tts.provider,
        ...optional("model", state.tts.model),
        ...optional("voice", state.tts.voice),
        ...baseUrl(state.tts.provider, state.tts.baseUrl),
      };
    case "realtime":
      return { provider: state.realtime.provider, ...optional("model", state.realtime.model), ...optional("voice", state.realtime.voice) };
  }
}

/** POST /agents: everything the form holds, with the architecture's sections only. */
export function createBody(state: AgentFormState): AgentCreate {
  const body: AgentCreate = {
    name: state.name.trim(),
    architecture: state.architecture,
    instructions: state.instructions.trim(),
    greeting: state.greeting.trim(),
    language: state.language.trim(),
  };
  for (const section of SECTIONS[state.architecture]) Object.assign(body, { [section]: sectionBody(state, section) });
  return body;
}

/** PATCH /agents/{id}: only what differs from the agent (a section is sent whole, as numbers-api replaces it). */
export function updateBody(state: AgentFormState, agent: Agent): AgentUpdate {
  const before = initialAgentForm(agent);
  const body: AgentUpdate = {};
  if (state.name.trim() !== agent.name) body.name = state.name.trim();
  if (state.architecture !== agent.architecture) body.architecture = state.architecture;
  if (state.instructions.trim() !== agent.instructions) body.instructions = state.instructions.trim();
  if (state.greeting.trim() !== agent.greeting) body.greeting = state.greeting.trim();
  if (state.language.trim() !== agent.language) body.language = state.language.trim();
  for (const section of SECTIONS[state.architecture]) {
    const next = sectionBody(state, section);
    // A section the agent lacked (a new architecture) is always sent; numbers-api would fill defaults.
    if (agent[section] === null || JSON.stringify(next) !== JSON.stringify(sectionBody(before, section))) Object.assign(body, { [section]: next });
  }
  return body;
}

/** Where a server error naming `field` shows: the field itself, a section's own rule under its
 * provider (or its model server when it names base_url), anything else above the buttons. */
export function agentProblemField(field: string, message: string): AgentField | "form" {
  if ((AGENT_FIELDS as readonly string[]).includes(field)) return field as AgentField;
  const section = field.split(".")[0];
  if (section === "stt" || section === "llm" || section === "tts" || section === "realtime") {
    if (section !== "realtime" && /base_url/.test(message)) return `${section}.base_url`;
    return `${section}.provider`;
  }
  return "form";
}

/** The E.164 numbers a 409 `AgentInUse` names: "Agent is assigned to phone numbers +1…, +4…; <what to do>". */
export function assignedNumbers(detail: string | undefined): string[] {
  if (!detail) return [];
  const listed = /assigned to phone numbers (.+?);/.exec(detail)?.[1] ?? detail;
  return [...new Set(listed.match(/\+\d{6,15}/g) ?? [])];
}
