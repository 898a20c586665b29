import { Ban, Loader2, Trash2 } from "lucide-react";
import { useCallback, useEffect, useId, useRef, useState } from "react";
import { ApiError } from "../lib/api";
import { type CampaignsApi } from "../lib/campaignApi";
import { formatTime } from "../lib/calls";
import type { DoNotCallEntry } from "../lib/types";
import { parseNumberList } from "../lib/campaigns";
import { useApiErrors } from "../hooks/useApiErrors";
import { ConfirmDialog } from "./ConfirmDialog";
import { useToasts } from "./Toasts";

/** The organization's do-not-call list: checked when a campaign dials; owners and admins add and remove. */
export function DoNotCallCard({ campaigns, canManage }: { campaigns: CampaignsApi; canManage: boolean }) {
  const errors = useApiErrors();
  const toasts = useToasts();
  const id = useId();
  const [entries, setEntries] = useState<DoNotCallEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [text, setText] = useState("");
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [removing, setRemoving] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const input = useRef<HTMLTextAreaElement>(null);

  const load = useCallback(
    async (after: string | null) => {
      try {
        const page = await campaigns.doNotCall(after);
        setEntries((current) => (after ? [...current, ...page.numbers.filter((n) => !current.some((c) => c.number === n.number))] : page.numbers));
        setCursor(page.next_cursor);
      } catch (err) {
        errors.apiError(err, "Could not load the do-not-call list", () => void load(after));
      } finally {
        setLoading(false);
      }
    },
    [campaigns, errors],
  );

  useEffect(() => {
    void load(null);
  }, [load]);

  const add = async () => {
    const { numbers, invalid } = parseNumberList(text);
    if (invalid.length > 0) {
      setError(`Not phone numbers in E.164 format (+ and 10 or more digits): ${invalid.join(", ")}`);
      input.current?.focus();
      return;
    }
    if (numbers.length === 0) {
      setError("Enter at least one number.");
      input.current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { added } = await campaigns.addDoNotCall(numbers, reason.trim() || undefined);
      const already = numbers.length - added;
      toasts.show({
        tone: "success",
        message: `${added} ${added === 1 ? "number" : "numbers"} added to the do-not-call list${already > 0 ? ` (${already} already on it)` : ""}`,
      });
      setText("");
      setReason("");
      await load(null);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, {}, String(err));
      if (e.status === 403) setError("Only owners and admins can change the do-not-call list.");
      else if (e.fieldErrors.length > 0) setError(e.fieldErrors.map((f) => f.message).join(" "));
      else errors.apiError(e, "Could not add the numbers", e.retryable ? () => void add() : undefined);
    } finally {
      setBusy(false);
    }
  };

  const remove = async (number: string) => {
    setRemoving(number);
    try {
      await campaigns.removeDoNotCall(number);
      toasts.show({ tone: "success", message: `${number} removed from the do-not-call list` });
      setEntries((current) => current.filter((e) => e.number !== number));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        toasts.show({ tone: "info", message: `${number} was no longer on the list.` });
        setEntries((current) => current.filter((e) => e.number !== number));
      } else errors.apiError(err, `Could not remove ${number}`, () => void remove(number));
    } finally {
      setRemoving(null);
    }
  };

  return (
    <section className="card dnc" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`} className="card-title">
        <Ban size={16} aria-hidden /> Do-not-call list
      </h2>
      <p className="helper current">Campaigns skip these numbers when they come to dial them, whenever they were added.</p>
      {canManage ? (
        <form
          className="dnc-form"
          aria-label="Add to the do-not-call list"
          onSubmit={(e) => {
            e.preventDefault();
            void add();
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-numbers`}>Numbers to add</label>
            <textarea
              ref={input}
              id={`${id}-numbers`}
              rows={2}
              placeholder="+12025550123"
              value={text}
              onChange={(e) => setText(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={`${id}-numbers-help`}
              className={error ? "invalid" : undefined}
            />
            <p id={`${id}-numbers-help`} className={error ? "field-error" : "helper"}>
              {error ?? "One per line, in E.164 format."}
            </p>
          </div>
          <div className="field">
            <label htmlFor={`${id}-reason`}>Reason (optional)</label>
            <input id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={200} />
          </div>
          <button type="submit" className="button primary" disabled={busy} aria-busy={busy || undefined}>
            {busy && <Loader2 size={16} className="spin" aria-hidden />}
            {busy ? "Adding…" : "Add to list"}
          </button>
        </form>
      ) : (
        <p className="readonly-note" role="note">
          Only owners and admins can change the do-not-call list.
        </p>
      )}
      {loading ? (
        <p className="muted" role="status">
          Loading…
        </p>
      ) : entries.length === 0 ? (
        <p className="muted">No numbers on the list.</p>
      ) : (
        <ul className="dnc-list" aria-label="Numbers not to call">
          {entries.map((entry) => (
            <li key={entry.number} className="dnc-item" data-testid="dnc-item">
              <span className="dnc-number">{entry.number}</span>
              <span className="muted dnc-meta">
                {entry.reason ? `${entry.reason} · ` : ""}added {formatTime(entry.added_at)}
              </span>
              {canManage && (
                <button
                  type="button"
                  className="icon-button danger"
                  aria-label={`Remove ${entry.number}`}
                  title="Remove from the list"
                  disabled={removing === entry.number}
                  onClick={() => setConfirming(entry.number)}
                >
                  {removing === entry.number ? <Loader2 size={16} className="spin" aria-hidden /> : <Trash2 size={16} aria-hidden />}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" className="button secondary small" onClick={() => void load(cursor)}>
          Load more
        </button>
      )}
      {confirming && (
        <RemoveDialog
          number={confirming}
          onClose={() => setConfirming(null)}
          onConfirm={async () => {
            await remove(confirming);
            setConfirming(null);
          }}
        />
      )}
    </section>
  );
}

/** The confirmation before a number leaves the list: campaigns may call it again. */
function RemoveDialog({ number, onClose, onConfirm }: { number: string; onClose: () => void; onConfirm: () => Promise<void> }) {
  return (
    <ConfirmDialog
      title="Remove from the do-not-call list?"
      description={<p>Campaigns may call {number} again from now on.</p>}
      confirmLabel="Remove"
      icon={<Trash2 size={16} aria-hidden />}
      onClose={onClose}
      onConfirm={onConfirm}
    />
  );
}
