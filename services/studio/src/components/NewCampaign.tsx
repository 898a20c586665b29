import { ArrowLeft, Loader2, Play, Save } from "lucide-react";
import { useEffect, useId, useRef, useState } from "react";
import { ApiError, type Api } from "../lib/api";
import type { CampaignsApi } from "../lib/campaignApi";
import { campaignSettings, DEFAULT_FORM, errorsByField, FIELD_OF, validateCampaign, type CampaignForm, type FormErrors } from "../lib/campaignForm";
import { readFileText, summarizeCsv, type CsvSummary } from "../lib/campaigns";
import { campaignPath, followLink, navigate, ROUTE_PATHS } from "../lib/route";
import type { Agent, CampaignDryRun, PhoneNumber } from "../lib/types";
import { agentLabel } from "../lib/types";
import { useApiErrors } from "../hooks/useApiErrors";
import { CampaignFile } from "./CampaignFile";
import { CampaignSettingsFields } from "./CampaignSettingsFields";
import { controlProps, Field } from "./FormField";
import { useToasts } from "./Toasts";

const WAITING = "Choose the agent and at least one number above: the server then checks every row.";

/** Put the cursor in the first field with an error (in the form's order). */
function focusFirstError(root: HTMLElement | null, errors: FormErrors) {
  if (!root) return;
  for (const el of root.querySelectorAll<HTMLElement>("[data-field]")) {
    if (errors[el.dataset.field as keyof FormErrors]) {
      el.focus();
      return;
    }
  }
}

/** The problem of a failed create or dry run, by field (413 and "no valid row" land on the file). */
function problemsOf(error: unknown): FormErrors | null {
  if (!(error instanceof ApiError)) return null;
  if (error.fieldErrors.length > 0) return errorsByField(error.fieldErrors);
  if (error.status === 413) return { file: error.message };
  if (error.status === 404 || error.status === 422) return { form: error.message };
  return null;
}

/** `/telephony/campaigns/new`: a campaign from a CSV file, checked by the server before it is created. */
export function NewCampaign({ api, campaigns, maxLoaded }: { api: Api; campaigns: CampaignsApi; maxLoaded?: number }) {
  const errorsApi = useApiErrors();
  const toasts = useToasts();
  const id = useId();
  const formRef = useRef<HTMLFormElement>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [form, setForm] = useState<CampaignForm>(DEFAULT_FORM);
  const [errors, setErrors] = useState<FormErrors>({});
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [numbers, setNumbers] = useState<PhoneNumber[] | null>(null);
  const [file, setFile] = useState<File | null>(null);
  const [summary, setSummary] = useState<CsvSummary | null>(null);
  const [verdict, setVerdict] = useState<CampaignDryRun | null>(null);
  const [checking, setChecking] = useState(false);
  const [submitting, setSubmitting] = useState<"draft" | "start" | null>(null);
  const checkGeneration = useRef(0);

  useEffect(() => {
    api.listAgents().then(
      (all) => setAgents(all.filter((a) => a.architecture !== "text").sort((a, b) => a.name.localeCompare(b.name))),
      (error) => {
        setAgents([]);
        errorsApi.apiError(error, "Could not load agents");
      },
    );
    api.listPhoneNumbers(undefined, maxLoaded).then(
      (page) => setNumbers([...page.items].sort((a, b) => a.phone_number.localeCompare(b.phone_number))),
      (error) => {
        setNumbers([]);
        errorsApi.apiError(error, "Could not load phone numbers");
      },
    );
  }, [api, errorsApi, maxLoaded]);

  const set = <K extends keyof CampaignForm>(key: K, value: CampaignForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    // A change answers its own field's error (and a whole-form one); the others stay until fixed.
    setErrors((e) => (e[FIELD_OF[key]] || e.form ? { ...e, [FIELD_OF[key]]: undefined, form: undefined } : e));
  };

  const check = async (target: File | null = file, current: CampaignForm = form) => {
    if (!target) return;
    const mine = ++checkGeneration.current;
    setChecking(true);
    try {
      const result = await campaigns.dryRun(target, target.name, campaignSettings(current));
      if (mine === checkGeneration.current) {
        setVerdict(result);
        setErrors((e) => ({ ...e, file: undefined, form: undefined }));
      }
    } catch (error) {
      if (mine !== checkGeneration.current) return;
      setVerdict(null);
      const problems = problemsOf(error);
      if (problems) setErrors(problems);
      else errorsApi.apiError(error, "Could not check the file", () => void check(target, current));
    } finally {
      if (mine === checkGeneration.current) setChecking(false);
    }
  };

  const pick = async (picked: File | null) => {
    checkGeneration.current += 1;
    setChecking(false);
    setFile(picked);
    setVerdict(null);
    if (!picked) {
      setSummary(null);
      return;
    }
    let read: CsvSummary;
    try {
      read = summarizeCsv(await readFileText(picked));
    } catch (error) {
      read = { columns: [], rows: 0, problem: `The file could not be read: ${error instanceof Error ? error.message : String(error)}` };
    }
    setSummary(read);
    setErrors((e) => ({ ...e, file: read.problem ?? undefined }));
    // The server's check follows (below) once the agent and numbers are chosen.
  };

  const submit = async (start: boolean) => {
    const found = validateCampaign(form);
    if (!file) found.file = "Choose the CSV file of numbers to call.";
    else if (summary?.problem) found.file = summary.problem;
    if (Object.keys(found).length > 0) {
      setErrors(found);
      requestAnimationFrame(() => focusFirstError(formRef.current, found));
      return;
    }
    setSubmitting(start ? "start" : "draft");
    try {
      const created = await campaigns.create(file!, file!.name, campaignSettings(form));
      const refused = created.rejected_count > 0 ? `; ${created.rejected_count} ${created.rejected_count === 1 ? "row was" : "rows were"} refused` : "";
      let started = false;
      if (start) {
        try {
          await campaigns.act(created.id, "start");
          started = true;
        } catch (error) {
          errorsApi.apiError(error, `Campaign ${created.name} was created as a draft but could not start`);
        }
      }
      toasts.show({ tone: "success", message: `Campaign ${created.name} ${started ? "created and started" : "created as a draft"}: ${created.counts.total} rows${refused}` });
      navigate(campaignPath(created.id));
    } catch (error) {
      const problems = problemsOf(error);
      if (problems) {
        setErrors(problems);
        requestAnimationFrame(() => focusFirstError(formRef.current, problems));
      } else errorsApi.apiError(error, "Could not create the campaign", error instanceof ApiError && error.retryable ? () => void submit(start) : undefined);
    } finally {
      setSubmitting(null);
    }
  };

  const canCheck = Boolean(form.agentId && form.fromNumbers.length > 0);
  // A readable file is checked by the server as soon as it and the agent and numbers are chosen.
  const readyFile = file && summary && !summary.problem ? file : null;
  useEffect(() => {
    if (canCheck && readyFile && !verdict && !checking) void check(readyFile);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [canCheck, readyFile]);

  return (
    <div className="details campaign-new">
      <a className="back-link" href={ROUTE_PATHS.campaigns} onClick={followLink}>
        <ArrowLeft size={16} aria-hidden /> All campaigns
      </a>
      <h1 className="page-title">New campaign</h1>
      <form
        ref={formRef}
        className="card campaign-form"
        aria-label="New campaign"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void submit(false);
        }}
      >
        <fieldset className="form-section form-section-first">
          <legend>Campaign</legend>
          <Field label="Name" required error={errors.name} help="For your list, e.g. December renewals.">
            {(ids) => <input {...controlProps(ids, "name")} value={form.name} maxLength={200} onChange={(e) => set("name", e.target.value)} />}
          </Field>
          <Field label="Agent" required error={errors.agent_id} help="A voice agent (pipeline or realtime) talks to each person called.">
            {(ids) => (
              <select {...controlProps(ids, "agent_id")} value={form.agentId} onChange={(e) => set("agentId", e.target.value)} disabled={agents === null}>
                <option value="">{agents === null ? "Loading…" : agents.length === 0 ? "No voice agents yet" : "Choose an agent"}</option>
                {(agents ?? []).map((a) => (
                  <option key={a.id} value={a.id}>
                    {agentLabel(a)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <fieldset
            className="check-group"
            data-field="from_numbers"
            tabIndex={-1}
            aria-invalid={errors.from_numbers ? true : undefined}
            aria-describedby={`${id}-from-help`}
          >
            <legend>
              Call from
              <span className="required" aria-hidden>
                {" "}
                *
              </span>
            </legend>
            {numbers === null ? (
              <p className="muted">Loading…</p>
            ) : numbers.length === 0 ? (
              <p className="muted">No phone numbers yet: add one on the Phone Numbers page.</p>
            ) : (
              <div className="check-options number-options">
                {numbers.map((n) => (
                  <label key={n.id} className="checkbox">
                    <input
                      type="checkbox"
                      checked={form.fromNumbers.includes(n.phone_number)}
                      onChange={(e) => set("fromNumbers", e.target.checked ? [...form.fromNumbers, n.phone_number] : form.fromNumbers.filter((x) => x !== n.phone_number))}
                    />
                    <span className="mono">{n.phone_number}</span>
                    {n.status !== "active" && <span className="badge badge-inactive">Inactive</span>}
                  </label>
                ))}
              </div>
            )}
            <p id={`${id}-from-help`} className={errors.from_numbers ? "field-error" : "helper"}>
              {errors.from_numbers ?? "Calls rotate through these caller IDs; each must be an active number with outbound calling set up."}
            </p>
          </fieldset>
        </fieldset>

        <CampaignFile
          fileName={file?.name ?? null}
          summary={summary}
          verdict={verdict}
          checking={checking}
          waitingFor={canCheck ? null : WAITING}
          error={errors.file}
          inputRef={fileInput}
          onPick={(f) => void pick(f)}
          onCheck={() => {
            if (canCheck) void check();
            else {
              const { agent_id, from_numbers } = validateCampaign(form);
              setErrors((e) => ({ ...e, agent_id, from_numbers }));
            }
          }}
        />

        <CampaignSettingsFields form={form} errors={errors} set={set} />

        {errors.form && (
          <p className="form-error" role="alert">
            {errors.form}
          </p>
        )}
        <div className="form-actions">
          <a className="button secondary" href={ROUTE_PATHS.campaigns} onClick={followLink}>
            Cancel
          </a>
          <button type="submit" className="button secondary" disabled={submitting !== null} aria-busy={submitting === "draft" || undefined}>
            {submitting === "draft" ? <Loader2 size={16} className="spin" aria-hidden /> : <Save size={16} aria-hidden />}
            {submitting === "draft" ? "Creating…" : "Create as draft"}
          </button>
          <button type="button" className="button green" disabled={submitting !== null} aria-busy={submitting === "start" || undefined} onClick={() => void submit(true)}>
            {submitting === "start" ? <Loader2 size={16} className="spin" aria-hidden /> : <Play size={16} aria-hidden />}
            {submitting === "start" ? "Creating…" : "Create and start"}
          </button>
        </div>
      </form>
    </div>
  );
}
