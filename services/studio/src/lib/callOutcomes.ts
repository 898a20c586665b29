/** What each outcome of `POST /telephony/outbound-call` means, after the seed's error table. */
import type { OutboundCallResult } from "./api";

export interface CallOutcome {
  tone: "success" | "error" | "warning";
  title: string;
  explanation: string;
  /** The server's own message, when it sent one. */
  message?: string;
  sipStatus?: number;
  retryable: boolean;
}

const TABLE: Record<number, Omit<CallOutcome, "message" | "sipStatus">> = {
  400: { tone: "error", title: "Invalid number", explanation: "Phone number format is invalid. Use E.164, e.g. +12025550123.", retryable: false },
  402: { tone: "error", title: "Insufficient balance", explanation: "Carrier account has insufficient funds. Add funds to your Twilio/Telnyx account and retry.", retryable: true },
  404: {
    tone: "error",
    title: "Phone number not found",
    explanation: "The from_number is not registered in TalkifAI or has no outbound agent assigned. Add the number, assign an outbound agent and make sure its SIP credentials are configured.",
    retryable: false,
  },
  408: { tone: "warning", title: "Timeout / No answer", explanation: "Call was not answered.", retryable: true },
  409: { tone: "warning", title: "Call conflict", explanation: "The call cannot be placed in the number's current state (for example, a call to this destination is already in progress, or the number is not synced yet).", retryable: true },
  422: { tone: "error", title: "Invalid request", explanation: "The request was refused: check the destination number and the number's outbound agent.", retryable: false },
  429: { tone: "warning", title: "Too many calls", explanation: "Too many calls were started in a short time. Wait a moment and retry.", retryable: true },
  500: { tone: "error", title: "Server error", explanation: "Internal error initiating the call.", retryable: true },
  502: { tone: "error", title: "Call service unavailable", explanation: "The call service or the SIP provider could not be reached. Try again shortly.", retryable: true },
  503: { tone: "error", title: "Call service unavailable", explanation: "The call service is temporarily unavailable. Try again shortly.", retryable: true },
};

export function describeCallResult(result: OutboundCallResult): CallOutcome {
  const { status, body } = result;
  if (body?.success && status >= 200 && status < 300) {
    return { tone: "success", title: body.message || "Call initiated successfully", explanation: `Calling ${body.to_number} from ${body.from_number} with ${body.agent.name}.`, retryable: false };
  }
  const failure = body && !body.success ? body : null;
  if (status === 0) {
    return { tone: "error", title: "Network error", explanation: "The call service cannot be reached. Check your connection and retry.", retryable: true };
  }
  const row = TABLE[status] ?? (status >= 500 ? TABLE[500] : { tone: "error" as const, title: `Call failed (${status})`, explanation: "The call could not be placed.", retryable: false });
  return { ...row, message: failure?.message, sipStatus: failure?.sip_status_code ?? undefined };
}
