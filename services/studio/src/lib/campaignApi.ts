/** call-orchestrator's campaign and do-not-call routes (issue 22's contract), on the Studio's `Api`. */
import type { Api } from "./api";
import type {
  Campaign,
  CampaignAction,
  CampaignCreated,
  CampaignDryRun,
  CampaignPage,
  CampaignRowPage,
  CampaignSettings,
  CampaignStatus,
  DoNotCallAdd,
  DoNotCallAdded,
  DoNotCallPage,
  RowStatus,
} from "./types";

export const CAMPAIGNS_PAGE_SIZE = 25;
export const ROWS_PAGE_SIZE = 50;
export const DO_NOT_CALL_PAGE_SIZE = 50;

function query(params: Record<string, string | number | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== null && value !== undefined && value !== "") q.set(key, String(value));
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** The multipart body of `POST /campaigns`: the CSV as `file`, the settings as the `campaign` part. */
export function campaignUpload(file: Blob, fileName: string, settings: CampaignSettings): FormData {
  const body = new FormData();
  // A plain form field (no filename), so the server reads it as text, not as a second file.
  body.append("campaign", JSON.stringify(settings));
  body.append("file", file, fileName);
  return body;
}

export class CampaignsApi {
  constructor(private readonly api: Api) {}

  /** One page, newest first. */
  list(status: CampaignStatus | null, cursor: string | null, limit = CAMPAIGNS_PAGE_SIZE): Promise<CampaignPage> {
    return this.api.request("GET", `/campaigns${query({ status, cursor, limit })}`);
  }

  get(id: string): Promise<Campaign> {
    return this.api.request("GET", `/campaigns/${encodeURIComponent(id)}`);
  }

  /** The server's verdict on a CSV and settings; nothing is stored. */
  dryRun(file: Blob, fileName: string, settings: CampaignSettings): Promise<CampaignDryRun> {
    return this.api.request("POST", "/campaigns?dry_run=true", campaignUpload(file, fileName, settings));
  }

  /** Create the campaign (draft) from the CSV; invalid rows come back in `rejected_rows`. */
  create(file: Blob, fileName: string, settings: CampaignSettings): Promise<CampaignCreated> {
    return this.api.request("POST", "/campaigns", campaignUpload(file, fileName, settings));
  }

  /** start (draft), pause (running), resume (paused), cancel (any but completed/cancelled); 409 otherwise. */
  act(id: string, action: CampaignAction): Promise<Campaign> {
    return this.api.request("POST", `/campaigns/${encodeURIComponent(id)}/${action}`);
  }

  rows(id: string, status: RowStatus | null, cursor: string | null, limit = ROWS_PAGE_SIZE): Promise<CampaignRowPage> {
    return this.api.request("GET", `/campaigns/${encodeURIComponent(id)}/rows${query({ status, cursor, limit })}`);
  }

  /** `results.csv` with the bearer token, as a file to save. */
  results(id: string): Promise<{ blob: Blob; filename: string }> {
    return this.api.download(`/campaigns/${encodeURIComponent(id)}/results.csv`, `campaign-${id}-results.csv`, "text/csv");
  }

  doNotCall(cursor: string | null, limit = DO_NOT_CALL_PAGE_SIZE): Promise<DoNotCallPage> {
    return this.api.request("GET", `/do-not-call${query({ cursor, limit })}`);
  }

  addDoNotCall(numbers: string[], reason?: string): Promise<DoNotCallAdded> {
    const body: DoNotCallAdd = reason ? { numbers, reason } : { numbers };
    return this.api.request("POST", "/do-not-call", body);
  }

  removeDoNotCall(number: string): Promise<void> {
    return this.api.request("DELETE", `/do-not-call/${encodeURIComponent(number)}`);
  }
}

/** Hand a downloaded file to the browser as a download. */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  document.body.appendChild(link);
  link.click();
  link.remove();
  // The click has started the download; the URL can go once it has been read.
  setTimeout(() => URL.revokeObjectURL(url), 30_000);
}
