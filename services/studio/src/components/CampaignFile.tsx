import { AlertTriangle, CheckCircle2, FileSpreadsheet, Loader2 } from "lucide-react";
import { useId, type RefObject } from "react";
import type { CsvSummary } from "../lib/campaigns";
import type { CampaignDryRun, PreviewRow, RejectedRow } from "../lib/types";

interface Props {
  fileName: string | null;
  summary: CsvSummary | null;
  verdict: CampaignDryRun | null;
  checking: boolean;
  /** Why the server has not checked the rows yet (settings missing), when it has not. */
  waitingFor: string | null;
  error?: string;
  inputRef: RefObject<HTMLInputElement | null>;
  onPick: (file: File | null) => void;
  onCheck: () => void;
}

/** The contacts file: picker, what the browser read, and the server's verdict (dry run) with a
 * preview of accepted rows and each refused row with its line and reason. */
export function CampaignFile({ fileName, summary, verdict, checking, waitingFor, error, inputRef, onPick, onCheck }: Props) {
  const id = useId();
  return (
    <fieldset className="form-section" data-field-group="file">
      <legend>Contacts</legend>
      <div className="field">
        <label htmlFor={id}>
          CSV file
          <span className="required" aria-hidden>
            {" "}
            *
          </span>
        </label>
        <input
          ref={inputRef}
          id={id}
          type="file"
          accept=".csv,text/csv"
          data-field="file"
          className={error ? "invalid" : undefined}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-help`}
          onChange={(e) => onPick(e.target.files?.[0] ?? null)}
        />
        <p id={`${id}-help`} className={error ? "field-error" : "helper current"}>
          {error ?? "UTF-8, a header row with a to_number column; optional time_zone and metadata (a JSON object) columns; every other column reaches the agent as metadata."}
        </p>
      </div>
      {fileName && summary && !summary.problem && (
        <div className="csv-summary" role="status" aria-live="polite">
          <FileSpreadsheet size={16} aria-hidden />
          <span>
            {fileName}: {summary.rows} {summary.rows === 1 ? "row" : "rows"}, columns {summary.columns.join(", ")}
          </span>
        </div>
      )}
      {summary && !summary.problem && (
        <div className="csv-verdict" data-testid="csv-verdict">
          {checking ? (
            <p className="muted" role="status">
              <Loader2 size={14} className="spin" aria-hidden /> Checking every row with the server…
            </p>
          ) : verdict ? (
            <Verdict verdict={verdict} />
          ) : waitingFor ? (
            <p className="muted">{waitingFor}</p>
          ) : null}
          {!checking && (
            <button type="button" className="button secondary small" onClick={onCheck}>
              {verdict ? "Check again" : "Check rows"}
            </button>
          )}
        </div>
      )}
    </fieldset>
  );
}

function Verdict({ verdict }: { verdict: CampaignDryRun }) {
  return (
    <>
      <p className={`verdict-line ${verdict.rejected_count > 0 ? "verdict-mixed" : "verdict-ok"}`} role="status">
        {verdict.rejected_count > 0 ? <AlertTriangle size={16} aria-hidden /> : <CheckCircle2 size={16} aria-hidden />}
        <span>
          {verdict.accepted} {verdict.accepted === 1 ? "row" : "rows"} will be called
          {verdict.rejected_count > 0 ? `; ${verdict.rejected_count} ${verdict.rejected_count === 1 ? "row is" : "rows are"} refused and left out` : ""}.
        </span>
      </p>
      {verdict.rejected_rows.length > 0 && <Rejected rows={verdict.rejected_rows} total={verdict.rejected_count} />}
      {verdict.preview.length > 0 && <Preview rows={verdict.preview} accepted={verdict.accepted} />}
    </>
  );
}

/** Each refused row: its line in the file, what it held, why. */
export function Rejected({ rows, total }: { rows: RejectedRow[]; total: number }) {
  return (
    <div className="table-wrap">
      <table className="data-table rejected-table" aria-label="Refused rows">
        <caption className="table-caption">
          Refused rows{total > rows.length ? ` (the first ${rows.length} of ${total})` : ""}
        </caption>
        <thead>
          <tr>
            <th scope="col">Line</th>
            <th scope="col">Number</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.line}-${row.to_number}`} data-testid="rejected-row">
              <td className="num">{row.line}</td>
              <td className="mono">{row.to_number || "(empty)"}</td>
              <td>{row.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function metadataText(metadata: PreviewRow["metadata"]): string {
  if (!metadata) return "—";
  return Object.entries(metadata)
    .map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ");
}

function Preview({ rows, accepted }: { rows: PreviewRow[]; accepted: number }) {
  return (
    <div className="table-wrap">
      <table className="data-table preview-table" aria-label="Preview of accepted rows">
        <caption className="table-caption">
          Preview{accepted > rows.length ? ` (the first ${rows.length} of ${accepted} rows)` : ""}
        </caption>
        <thead>
          <tr>
            <th scope="col">Line</th>
            <th scope="col">Number</th>
            <th scope="col">Time zone</th>
            <th scope="col">Metadata</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.line} data-testid="preview-row">
              <td className="num">{row.line}</td>
              <td className="mono">{row.to_number}</td>
              <td>{row.time_zone ?? "From the number"}</td>
              <td className="metadata-cell">{metadataText(row.metadata)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
