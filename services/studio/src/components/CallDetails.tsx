import { AlertTriangle, ArrowLeft, CheckCircle2, Clock, Coins, FileText, Loader2, Mic, PhoneOff, Trash2, Wrench, XCircle } from "lucide-react";
import { describeCall, sipMeaning } from "../lib/callOutcomes";
import { COMPONENT_LABELS, counterpart, DIRECTION_LABELS, durationInWords, formatBytes, formatDuration, formatMoney, formatTime, isLive, STATUS_LABELS, UNIT_LABELS } from "../lib/calls";
import { callsPath, followLink, numberPath, ROUTE_PATHS } from "../lib/route";
import { RECORDING_LABELS } from "../lib/types";
import type { CallCost, CallRecord, CallRecording, RecordingMode, TranscriptItem } from "../lib/types";
import type { SeenChange, TranscriptState } from "../hooks/useCalls";
import { CallStatusBadge, DirectionIcon } from "./CallList";
import { ConfirmDialog } from "./ConfirmDialog";

interface Props {
  call: CallRecord;
  seen: SeenChange[];
  transcript: TranscriptState;
  canManage: boolean;
  onHangUp: () => void;
  /** Where the `<audio>` element plays the recording from (the token in `?access_token=`). */
  recordingUrl: string;
  /** The number's recording mode, when known (read for a call without a recording). */
  recordingMode?: RecordingMode | null;
  onDeleteRecording: () => void;
}

/** A call's page: who, outcome and SIP code in words, timeline, agent, durations, transcript, cost. */
export function CallDetails({ call, seen, transcript, canManage, onHangUp, recordingUrl, recordingMode, onDeleteRecording }: Props) {
  const live = isLive(call);
  return (
    <div className="details call-details">
      <a className="back-link" href={callsPath()} onClick={followLink}>
        <ArrowLeft size={16} aria-hidden /> All calls
      </a>
      <div className="topbar">
        <div>
          <div className="topbar-line">
            <DirectionIcon direction={call.direction} size={22} />
            <h1 className="details-number">{counterpart(call)}</h1>
            <CallStatusBadge status={call.status} />
          </div>
          <p className="muted">
            {DIRECTION_LABELS[call.direction]} call {call.direction === "outbound" ? "from" : "to"} {call.phone_number}
          </p>
          <p className="details-id muted">ID: {call.id}</p>
        </div>
        {live && canManage && (
          <div className="topbar-actions">
            <button type="button" className="button danger" onClick={onHangUp}>
              <PhoneOff size={16} aria-hidden /> Hang up
            </button>
          </div>
        )}
      </div>
      {live && !canManage && (
        <p className="readonly-note" role="note">
          Only owners and admins can hang up calls.
        </p>
      )}
      <div className="cards call-cards">
        <Outcome call={call} />
        <section className="card" aria-label="Call">
          <h3>Call</h3>
          <dl className="facts">
            <dt>Direction</dt>
            <dd>{DIRECTION_LABELS[call.direction]}</dd>
            <dt>Our number</dt>
            <dd>
              {call.phone_number_id ? (
                <a href={numberPath(call.phone_number_id)} onClick={followLink}>
                  {call.phone_number}
                </a>
              ) : (
                call.phone_number
              )}
            </dd>
            <dt>From</dt>
            <dd>{call.from_number}</dd>
            <dt>To</dt>
            <dd>{call.to_number}</dd>
            <dt>Agent</dt>
            <dd data-testid="call-agent">
              {call.agent ? (
                <a href={`${ROUTE_PATHS.agents}?agent=${encodeURIComponent(call.agent.id)}`} onClick={followLink}>
                  {call.agent.name}
                </a>
              ) : (
                "No agent"
              )}
            </dd>
            <dt>Talk time</dt>
            <dd data-testid="call-duration">{live ? "Going on" : formatDuration(call.duration_s)}</dd>
            <dt>Total</dt>
            <dd>{live ? "Going on" : formatDuration(call.total_duration_s)} (ringing included)</dd>
            <dt>Room</dt>
            <dd className="mono">{call.room_name}</dd>
          </dl>
        </section>
        <Timeline call={call} seen={seen} />
        <Cost cost={call.cost ?? null} live={live} />
        <Transcript state={transcript} live={live} />
        <Recording recording={call.recording ?? null} url={recordingUrl} mode={recordingMode ?? null} canManage={canManage} onDelete={onDeleteRecording} />
      </div>
    </div>
  );
}

function Outcome({ call }: { call: CallRecord }) {
  const outcome = describeCall(call);
  const Icon = outcome.tone === "success" ? CheckCircle2 : outcome.tone === "warning" ? AlertTriangle : XCircle;
  return (
    <section className="card card-wide" aria-label="Outcome">
      <h3>Outcome</h3>
      <div className={`outcome outcome-${outcome.tone}`} data-testid="call-outcome">
        <Icon size={18} aria-hidden />
        <div>
          <p className="outcome-title">{outcome.title}</p>
          <p>{outcome.explanation}</p>
          {outcome.message && <p className="muted">Details: {outcome.message}</p>}
          {call.failure_reason && <p className="muted">Reason: {call.failure_reason}</p>}
          {outcome.sipStatus !== undefined && (
            <p className="muted" data-testid="sip-status">
              SIP {outcome.sipStatus}: {sipMeaning(outcome.sipStatus)}
            </p>
          )}
        </div>
      </div>
    </section>
  );
}

function Timeline({ call, seen }: { call: CallRecord; seen: SeenChange[] }) {
  const steps: { label: string; at: string | null | undefined }[] = [
    { label: "Initiated", at: call.started_at },
    { label: "Ringing", at: call.ringing_at },
    { label: "Answered", at: call.answered_at },
    { label: call.status === "failed" ? "Failed" : "Ended", at: call.ended_at },
  ];
  return (
    <section className="card" aria-label="Timeline">
      <h3>
        <Clock size={16} aria-hidden /> Timeline
      </h3>
      <ol className="timeline">
        {steps.map((step) => (
          <li key={step.label} className={step.at ? "timeline-done" : "timeline-open"}>
            <span className="timeline-label">{step.label}</span>
            <span className="timeline-at">{step.at ? formatTime(step.at) : "—"}</span>
          </li>
        ))}
      </ol>
      {seen.length > 0 && (
        <>
          <p className="facts-title">Seen on this page</p>
          <ol className="timeline timeline-seen" data-testid="seen-changes">
            {seen.map((s, i) => (
              <li key={i}>
                <span className="timeline-label">{STATUS_LABELS[s.status]}</span>
                <span className="timeline-at">
                  {formatTime(s.at)} <span className="muted">({s.via})</span>
                </span>
              </li>
            ))}
          </ol>
        </>
      )}
    </section>
  );
}

/** The call's recording by its state: pending (uploading), available (a player, its length and size,
 * and Delete for owners and admins), failed (egress's error), deleted (when), or none. */
function Recording({ recording, url, mode, canManage, onDelete }: { recording: CallRecording | null; url: string; mode: RecordingMode | null; canManage: boolean; onDelete: () => void }) {
  return (
    <section className="card card-wide" aria-label="Recording">
      <h3>
        <Mic size={16} aria-hidden /> Recording
      </h3>
      <div data-testid="recording" data-status={recording?.status ?? "none"}>
        {!recording ? (
          <p className="muted">
            Not recorded
            {mode ? ` (this number's Call Recording setting: ${RECORDING_LABELS[mode]}${mode === "consent" ? "; the caller did not consent" : ""}).` : " (the number's Call Recording setting, or no consent)."}
          </p>
        ) : recording.status === "pending" ? (
          <>
            <p className="recording-pending">
              <Loader2 size={16} className="spin" aria-hidden /> Recording pending: it is being recorded or uploaded, and can be played once it is stored.
            </p>
            {recording.error ? (
              <p className="muted" data-testid="recording-retrying">
                The upload to object storage failed; the recording is kept and uploaded again
                {recording.upload_attempts ? ` (${recording.upload_attempts} ${recording.upload_attempts === 1 ? "attempt" : "attempts"} so far)` : ""}. Last error: {recording.error}
              </p>
            ) : null}
          </>
        ) : recording.status === "available" ? (
          <>
            <audio className="recording-player" controls preload="none" src={url} aria-label="Call recording">
              Your browser cannot play Ogg/Opus audio.
            </audio>
            <p className="muted" data-testid="recording-facts">
              {durationInWords(recording.duration_s)} long, {formatBytes(recording.size_bytes)}
              {recording.stored_at ? `, stored ${formatTime(recording.stored_at)}` : ""}
            </p>
            {canManage ? (
              <button type="button" className="button danger" onClick={onDelete}>
                <Trash2 size={16} aria-hidden /> Delete recording
              </button>
            ) : (
              <p className="helper current">Only owners and admins can delete recordings.</p>
            )}
          </>
        ) : recording.status === "failed" ? (
          <p className="outcome outcome-error" role="note">
            The recording could not be stored{recording.error ? `: ${recording.error}` : "."}
          </p>
        ) : (
          <p className="muted">Deleted{recording.deleted_at ? ` on ${formatTime(recording.deleted_at)}` : ""}.</p>
        )}
      </div>
    </section>
  );
}

function Cost({ cost, live }: { cost: CallCost | null; live: boolean }) {
  return (
    <section className="card card-wide" aria-label="Usage and cost">
      <h3>
        <Coins size={16} aria-hidden /> Usage and cost
      </h3>
      {!cost ? (
        <p className="muted" data-testid="call-cost">
          {live ? "Priced when the call ends." : "Not priced yet: the cost follows once the agent's usage is in (calls no agent ran have none)."}
        </p>
      ) : (
        <>
          <div className="cost-table-wrap">
            <table className="cost-table">
              <thead>
                <tr>
                  <th scope="col">Item</th>
                  <th scope="col">Used</th>
                  <th scope="col">Rate</th>
                  <th scope="col">Amount</th>
                </tr>
              </thead>
              <tbody>
                {cost.breakdown.map((line) => (
                  <tr key={line.component}>
                    <th scope="row">
                      {COMPONENT_LABELS[line.component] ?? line.component}
                      {line.rated_by && <span className="muted"> · {line.rated_by}</span>}
                    </th>
                    <td>
                      {line.quantity} {UNIT_LABELS[line.unit] ?? line.unit}
                    </td>
                    <td>{line.rate === null ? "no rate" : `${formatMoney(line.rate, cost.currency)} / ${UNIT_LABELS[line.unit] ?? line.unit}`}</td>
                    <td>{formatMoney(line.amount, cost.currency)}</td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr>
                  <th scope="row" colSpan={3}>
                    Total
                  </th>
                  <td data-testid="call-cost">{formatMoney(cost.total, cost.currency)}</td>
                </tr>
              </tfoot>
            </table>
          </div>
          <p className="helper current">
            Billed {formatDuration(cost.billed_s)} of carrier time{cost.destination_prefix ? ` at the ${cost.destination_prefix} rate` : ""}; rate deck{" "}
            {cost.rate_deck_version === 0 ? "default" : `version ${cost.rate_deck_version}`}; priced {formatTime(cost.computed_at)}.
          </p>
        </>
      )}
    </section>
  );
}

const ROLE_LABELS: Record<TranscriptItem["role"], string> = { user: "Caller", agent: "Agent", tool: "Tool" };

function Transcript({ state, live }: { state: TranscriptState; live: boolean }) {
  return (
    <section className="card card-wide" aria-label="Transcript">
      <h3>
        <FileText size={16} aria-hidden /> Transcript
      </h3>
      {state.state === "loading" && (
        <p className="muted" role="status">
          <Loader2 size={14} className="spin" aria-hidden /> Loading…
        </p>
      )}
      {state.state === "missing" && (
        <p className="muted" data-testid="transcript-missing">
          Transcript not available yet{live ? ": it arrives shortly after the call ends." : ". It arrives shortly after the call ends; calls no agent took have none."}
        </p>
      )}
      {state.state === "error" && <p className="field-error">Could not load the transcript: {state.message}</p>}
      {state.state === "ready" &&
        (state.transcript.items.length === 0 ? (
          <p className="muted">Nothing was said.</p>
        ) : (
          <>
            <ol className="transcript" data-testid="transcript">
              {state.transcript.items.map((item, i) => (
                <li key={i} className={`turn turn-${item.role}`}>
                  <span className="turn-role">
                    {item.role === "tool" && <Wrench size={12} aria-hidden />} {ROLE_LABELS[item.role]}
                    {item.role === "tool" && item.tool_name ? `: ${item.tool_name}` : ""}
                  </span>
                  {item.role === "tool" && item.tool_arguments && <code className="turn-args">{item.tool_arguments}</code>}
                  <span className="turn-text">{item.text}</span>
                  {item.interrupted && <span className="muted turn-note">(interrupted)</span>}
                </li>
              ))}
            </ol>
            {state.transcript.truncated && <p className="helper current">Part of the conversation was left out (a very long turn or call).</p>}
          </>
        ))}
    </section>
  );
}

/** "Hang up": confirm, then `POST /calls/{id}/hangup`. */
export function HangUpDialog({ call, onClose, onConfirm }: { call: CallRecord; onClose: () => void; onConfirm: () => Promise<void> }) {
  return (
    <ConfirmDialog
      title="Hang up this call?"
      description={
        <p>
          The call with {counterpart(call)} ends now: {call.direction === "outbound" ? "the callee" : "the caller"} and the agent are disconnected.
        </p>
      }
      confirmLabel="Hang up"
      busyLabel="Hanging up…"
      icon={<PhoneOff size={16} aria-hidden />}
      onClose={onClose}
      onConfirm={onConfirm}
    />
  );
}

/** The confirmation before a call's recording is deleted. */
export function DeleteRecordingDialog({ call, onClose, onConfirm }: { call: CallRecord; onClose: () => void; onConfirm: () => Promise<void> }) {
  return (
    <ConfirmDialog
      title="Delete this recording?"
      description={
        <>
          <p>The recording of the call with {counterpart(call)} is deleted from storage for everyone in the organization. The call stays in the history.</p>
          <p className="muted">This cannot be undone.</p>
        </>
      }
      confirmLabel="Delete recording"
      busyLabel="Deleting…"
      icon={<Trash2 size={16} aria-hidden />}
      onClose={onClose}
      onConfirm={onConfirm}
    />
  );
}
