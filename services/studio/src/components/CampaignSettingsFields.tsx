import { X } from "lucide-react";
import { useId, useState } from "react";
import { WEEKDAY_LABELS, WEEKDAYS, type CampaignForm, type FormErrors } from "../lib/campaignForm";
import { controlProps, Field } from "./FormField";

interface Props {
  form: CampaignForm;
  errors: FormErrors;
  set: <K extends keyof CampaignForm>(key: K, value: CampaignForm[K]) => void;
}

/** A group of checkboxes as one field: a legend, its error or help, `aria-invalid` on the group. */
function CheckGroup({ legend, name, error, help, children }: { legend: string; name: string; error?: string; help: string; children: React.ReactNode }) {
  const id = useId();
  return (
    <fieldset className="check-group" data-field={name} aria-invalid={error ? true : undefined} aria-describedby={`${id}-help`} tabIndex={-1}>
      <legend>{legend}</legend>
      <div className="check-options">{children}</div>
      <p id={`${id}-help`} className={error ? "field-error" : "helper"}>
        {error ?? help}
      </p>
    </fieldset>
  );
}

/** Calling window (callee's local time), pacing, retries by outcome and the start time. */
export function CampaignSettingsFields({ form, errors, set }: Props) {
  return (
    <>
      <fieldset className="form-section">
        <legend>Calling window</legend>
        <p className="helper current">In each callee's local time (their time zone column, else the one their number belongs to).</p>
        <label className="checkbox">
          <input type="checkbox" checked={form.anyTime} onChange={(e) => set("anyTime", e.target.checked)} />
          Call at any time (no calling window)
        </label>
        {!form.anyTime && <WindowFields form={form} errors={errors} set={set} />}
      </fieldset>

      <fieldset className="form-section">
        <legend>Pacing</legend>
        <div className="field-row">
          <Field label="Calls per second" required error={errors["pacing.calls_per_second"]} help="New calls started per second (0.5: one every 2 seconds).">
            {(ids) => (
              <input {...controlProps(ids, "pacing.calls_per_second")} type="number" inputMode="decimal" min="0.01" step="0.1" value={form.callsPerSecond} onChange={(e) => set("callsPerSecond", e.target.value)} />
            )}
          </Field>
          <Field label="Max concurrent calls" required error={errors["pacing.max_concurrent"]} help="Within your organization's limit, shared with other calls.">
            {(ids) => (
              <input {...controlProps(ids, "pacing.max_concurrent")} type="number" inputMode="numeric" min="1" step="1" value={form.maxConcurrent} onChange={(e) => set("maxConcurrent", e.target.value)} />
            )}
          </Field>
        </div>
      </fieldset>

      <fieldset className="form-section">
        <legend>Retries</legend>
        <div className="field-row">
          <Field label="Max attempts" required error={errors["retry.max_attempts"]} help="Per number, the first call included (1: never retry).">
            {(ids) => (
              <input {...controlProps(ids, "retry.max_attempts")} type="number" inputMode="numeric" min="1" step="1" value={form.maxAttempts} onChange={(e) => set("maxAttempts", e.target.value)} />
            )}
          </Field>
          <Field label="Wait before a retry (minutes)" required error={errors["retry.delay_s"]} help="Counted from the end of the previous attempt.">
            {(ids) => (
              <input {...controlProps(ids, "retry.delay_s")} type="number" inputMode="decimal" min="0" step="1" value={form.delayMinutes} onChange={(e) => set("delayMinutes", e.target.value)} />
            )}
          </Field>
        </div>
        <CheckGroup legend="Retry when" name="retry.on" error={undefined} help="Other outcomes end the row as failed.">
          <label className="checkbox">
            <input type="checkbox" checked={form.retryBusy} onChange={(e) => set("retryBusy", e.target.checked)} /> The line is busy
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={form.retryNoAnswer} onChange={(e) => set("retryNoAnswer", e.target.checked)} /> Nobody answers
          </label>
          <label className="checkbox">
            <input type="checkbox" checked={form.retryAgentFailed} onChange={(e) => set("retryAgentFailed", e.target.checked)} /> The agent fails
          </label>
        </CheckGroup>
        <Field label="Retry these SIP failures" error={errors["retry.on"]} help="Codes and ranges, comma separated (500-599, 408); empty: never retry a failed call.">
          {(ids) => <input {...controlProps(ids, "retry.on")} value={form.retryFailed} onChange={(e) => set("retryFailed", e.target.value)} placeholder="500-599, 408" />}
        </Field>
      </fieldset>

      <fieldset className="form-section">
        <legend>Start</legend>
        <div className="field-row">
          <Field label="Not before" error={errors.start_at} help="Optional: no call before this time (your time zone), even once started.">
            {(ids) => <input {...controlProps(ids, "start_at")} type="datetime-local" value={form.startAt} onChange={(e) => set("startAt", e.target.value)} />}
          </Field>
          <Field label="Ringing timeout (seconds)" error={errors.ringing_timeout_s} help="Optional: how long a call rings before it counts as no answer.">
            {(ids) => (
              <input {...controlProps(ids, "ringing_timeout_s")} type="number" inputMode="numeric" min="1" step="1" value={form.ringingTimeout} onChange={(e) => set("ringingTimeout", e.target.value)} />
            )}
          </Field>
        </div>
      </fieldset>
    </>
  );
}

/** The window's days, hours and blackout dates (hidden when calls may go out at any time). */
function WindowFields({ form, errors, set }: Props) {
  const [blackout, setBlackout] = useState("");
  const addBlackout = () => {
    if (blackout && !form.blackoutDates.includes(blackout)) set("blackoutDates", [...form.blackoutDates, blackout].sort());
    setBlackout("");
  };
  return (
    <>
        <CheckGroup legend="Days" name="windows.days" error={errors["windows.days"]} help="The days of the week calls are placed.">
        {WEEKDAYS.map((day) => (
          <label key={day} className="checkbox day-option">
            <input
              type="checkbox"
              checked={form.days.includes(day)}
              onChange={(e) => set("days", e.target.checked ? [...form.days, day] : form.days.filter((d) => d !== day))}
            />
            {WEEKDAY_LABELS[day]}
          </label>
        ))}
      </CheckGroup>
      <div className="field-row">
        <Field label="From" required error={errors["windows.start"]} help="First call no earlier than this.">
          {(ids) => <input {...controlProps(ids, "windows.start")} type="time" value={form.start} onChange={(e) => set("start", e.target.value)} />}
        </Field>
        <Field label="Until" required error={errors["windows.end"]} help="No new call from this time on.">
          {(ids) => <input {...controlProps(ids, "windows.end")} type="time" value={form.end} disabled={form.untilMidnight} onChange={(e) => set("end", e.target.value)} />}
        </Field>
        <label className="checkbox">
          <input type="checkbox" checked={form.untilMidnight} onChange={(e) => set("untilMidnight", e.target.checked)} />
          To midnight
        </label>
      </div>
      <Field label="Blackout dates" error={errors["windows.blackout_dates"]} help="Days with no calls at all (holidays).">
        {(ids) => (
          <div className="inline-add">
            <input {...controlProps(ids, "windows.blackout_dates")} type="date" value={blackout} onChange={(e) => setBlackout(e.target.value)} />
            <button type="button" className="button secondary" onClick={addBlackout} disabled={!blackout}>
              Add date
            </button>
          </div>
        )}
      </Field>
      {form.blackoutDates.length > 0 && (
        <ul className="chips" aria-label="Blackout dates">
          {form.blackoutDates.map((day) => (
            <li key={day} className="chip">
              {day}
              <button type="button" className="chip-remove" aria-label={`Remove ${day}`} onClick={() => set("blackoutDates", form.blackoutDates.filter((d) => d !== day))}>
                <X size={12} aria-hidden />
              </button>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
