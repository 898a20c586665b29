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

/** What a SIP status code means, in plain words (the codes carriers answer calls with). */
const SIP_MEANINGS: Record<number, string> = {
  200: "OK: answered",
  400: "Bad request: the carrier could not read the call",
  401: "Unauthorized: the carrier wants credentials",
  402: "Payment required: the carrier account has no funds",
  403: "Forbidden: the carrier refused the call (credentials, IP ACL or permissions)",
  404: "Not found: the number does not exist",
  407: "Proxy authentication required: the SIP username or password is wrong",
  408: "Request timeout: nobody answered in time",
  480: "Temporarily unavailable: the phone is off or out of reach",
  484: "Address incomplete: the number is missing digits",
  485: "Ambiguous: the number is not unique",
  486: "Busy here: the line is busy",
  487: "Request terminated: the call was cancelled before the answer",
  488: "Not acceptable here: the far end refused the media (codecs or encryption)",
  500: "Server error at the carrier",
  502: "Bad gateway: the carrier could not reach the next hop",
  503: "Service unavailable at the carrier",
  504: "Gateway timeout at the carrier",
  600: "Busy everywhere",
  603: "Declined: the person rejected the call",
  604: "Does not exist anywhere",
};

export function sipMeaning(code: number): string {
  return SIP_MEANINGS[code] ?? (code >= 600 ? "Refused everywhere" : code >= 500 ? "Server error at the carrier" : code >= 400 ? "Refused by the carrier" : code >= 200 && code < 300 ? "OK" : "Provisional");
}

/** The failure reasons call-orchestrator records, as the outcome table's rows (and a few of their own). */
const FAILURES: Record<string, Omit<CallOutcome, "message" | "sipStatus" | "retryable">> = {
  invalid_number: TABLE[400],
  insufficient_balance: TABLE[402],
  no_answer: TABLE[408],
  busy: { tone: "warning", title: "Busy", explanation: "The line was busy." },
  declined: { tone: "warning", title: "Declined", explanation: "The person declined the call." },
  carrier_error: { tone: "error", title: "Carrier refused the call", explanation: "The carrier refused the call; its SIP status says why (credentials, IP ACL, permissions for the destination)." },
  carrier_unreachable: { tone: "error", title: "Carrier unreachable", explanation: "LiveKit could not reach the carrier: check the number's termination URI and the trunk." },
  livekit_unavailable: TABLE[503],
  dispatch_failed: { tone: "error", title: "Server error", explanation: "The agent could not be sent to the call." },
  agent_failed: { tone: "error", title: "The agent failed", explanation: "The agent could not run the call; the detail below says why." },
  abandoned: { tone: "warning", title: "Abandoned", explanation: "The caller hung up before the call was answered." },
  hung_up_by_user: { tone: "warning", title: "Hung up from the Studio", explanation: "Someone hung up the call before it was answered." },
  internal: TABLE[500],
};

/** How a call went, in plain words: live, completed (and why it ended), or why it failed. */
export function describeCall(call: {
  status: string;
  failure_reason?: string | null;
  failure_detail?: string | null;
  end_reason?: string | null;
  sip_status_code?: number | null;
}): Omit<CallOutcome, "retryable"> {
  const sipStatus = call.sip_status_code ?? undefined;
  const message = call.failure_detail ?? undefined;
  switch (call.status) {
    case "initiated":
      return { tone: "warning", title: "Placing the call", explanation: "The call is being set up.", sipStatus };
    case "ringing":
      return { tone: "warning", title: "Ringing", explanation: "The phone is ringing; nobody has answered yet.", sipStatus };
    case "answered":
      return { tone: "success", title: "In progress", explanation: "The call was answered and is going on now.", sipStatus };
    case "completed":
      return call.end_reason === "hung_up_by_user"
        ? { tone: "success", title: "Completed: hung up from the Studio", explanation: "The call was answered, then ended with “Hang up”.", sipStatus, message }
        : { tone: "success", title: "Completed", explanation: "The call was answered and ended normally (the caller, the callee or the agent hung up).", sipStatus, message };
    default: {
      const row = FAILURES[call.failure_reason ?? ""] ?? { tone: "error" as const, title: "Failed", explanation: call.failure_reason ? `The call failed (${call.failure_reason}).` : "The call failed." };
      return { ...row, sipStatus, message };
    }
  }
}
