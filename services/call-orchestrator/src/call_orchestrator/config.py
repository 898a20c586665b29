"""call-orchestrator settings, read from the environment once by `main()`."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field, SecretStr

from talkifai_common.settings import (
    DatabaseSettings,
    InternalTokenSettings,
    JwtAuthSettings,
    LiveKitSettings,
    ServiceSettings,
    require_random_secret,
    secret_value,
)


@dataclass(frozen=True)
class S3Settings:
    """S3-compatible object storage for recordings: what egress uploads with, and what this
    service presigns and deletes with."""

    bucket: str
    prefix: str
    endpoint: str | None
    region: str
    access_key: str
    secret_key: str = field(repr=False)
    force_path_style: bool

    def key(self, filepath: str) -> str:
        """The object key of a file path (under the prefix)."""
        return f"{self.prefix}/{filepath.lstrip('/')}" if self.prefix else filepath.lstrip("/")


# Dev-mode default only; refused outside dev mode.
DEV_WEBHOOK_SIGNING_SECRET = "dev-webhook-signing-secret-change-me"


class Settings(
    ServiceSettings, DatabaseSettings, JwtAuthSettings, InternalTokenSettings, LiveKitSettings
):
    """Everything call-orchestrator reads from the environment."""

    port: int = Field(default=8020, ge=1, le=65535, validation_alias="CALL_ORCHESTRATOR_PORT")
    livekit_timeout_s: float = Field(
        default=1.5, gt=0, description="Timeout of LiveKit calls other than dialing."
    )
    agent_name: str = Field(default="talkifai-agent", description="The agent dispatched to calls.")
    max_concurrent_calls_per_org: int = Field(default=50, ge=1)
    default_ringing_timeout_s: int = Field(default=30, ge=1, le=120)
    answer_poll_interval_s: float = Field(
        default=0.25, gt=0, description="How often a dialing call is checked for `ringing`."
    )
    live_call_check_interval_s: float = Field(
        default=60.0,
        gt=0,
        description="How often calls still live in history are checked against LiveKit's rooms.",
    )
    live_call_check_after_s: float = Field(
        default=130.0,
        ge=0,
        description="Past the longest ringing window (120 s): a call this old has no dialer "
        "waiting on it, so the live-call check may end it, and a room finishing under it before "
        "the answer fails it as abandoned.",
    )
    numbers_api_url: str | None = Field(
        default=None,
        description="numbers-api, whose internal list of numbers fills the read model at start "
        "and every READ_MODEL_REFRESH_INTERVAL_S (what the event stream no longer holds); unset: "
        "events only.",
    )
    read_model_refresh_interval_s: float = Field(default=900.0, gt=0)
    costing_interval_s: float = Field(
        default=30.0,
        gt=0,
        description="How often calls whose usage arrived before their end are priced.",
    )
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    campaign_max_rows: int = Field(
        default=100_000, ge=1, description="Rows one campaign may hold (more: 413)."
    )
    campaign_max_upload_bytes: int = Field(
        default=32 * 1024 * 1024,
        ge=1024,
        description="Body limit of `POST /campaigns` (a CSV upload or JSON rows), instead of "
        "MAX_BODY_BYTES.",
    )
    campaign_reserved_slots: int = Field(
        default=1,
        ge=0,
        description="Of the organization's concurrent-call limit, slots campaigns never take: "
        "one-off calls always have them.",
    )
    campaign_scheduler: bool = Field(
        default=True, description="Run the campaign scheduler in this replica."
    )
    campaign_tick_s: float = Field(
        default=0.25,
        gt=0,
        description="Longest the scheduler sleeps between looks for due rows and ended calls.",
    )
    campaign_lookahead_s: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="How far ahead of a campaign's next slot the scheduler claims its attempt "
        "(then dials at the slot), so waking up late does not stretch every interval.",
    )
    campaign_lease_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a replica holds an attempt before its call is recorded; an "
        "attempt whose lease expired with no call is `not_placed` and its row waits again.",
    )
    webhook_signing_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key of customer webhook signatures."
    )
    allow_private_webhooks: bool | None = Field(
        default=None,
        description="Deliver to hosts that are not globally routable (unset: only in dev mode).",
    )
    webhook_timeout_s: float = Field(default=5.0, gt=0)
    webhook_retry_base_s: float = Field(default=1.0, gt=0)
    webhook_retry_max_s: float = Field(default=300.0, gt=0)
    webhook_retry_window_s: float = Field(
        default=3600.0, gt=0, description="How long a delivery is retried before it is dropped."
    )
    webhook_poll_interval_s: float = Field(default=1.0, gt=0)
    recording_filepath: str = Field(
        default="recordings/{room_name}-{time}.ogg",
        description="Egress file path template (LiveKit's {room_name}, {time} placeholders); "
        "the object key under RECORDING_S3_PREFIX when object storage is set.",
    )
    recording_s3_bucket: str | None = Field(
        default=None,
        description="S3-compatible bucket LiveKit Egress uploads recordings to; unset: egress "
        "writes a local file (RECORDING_FILEPATH, relative to egress's directory).",
    )
    recording_s3_prefix: str = Field(default="", description="Key prefix inside the bucket.")
    recording_s3_endpoint: str | None = Field(
        default=None, description="S3-compatible endpoint URL (MinIO, R2, ...); unset: AWS."
    )
    recording_s3_region: str = Field(default="us-east-1")
    recording_s3_access_key: str | None = None
    recording_s3_secret_key: SecretStr | None = Field(
        default=None, description="Secret of RECORDING_S3_ACCESS_KEY; never logged."
    )
    recording_s3_force_path_style: bool = Field(
        default=False, description="Path-style URLs (`<endpoint>/<bucket>/<key>`), as MinIO needs."
    )
    recording_url_ttl_s: int = Field(
        default=300,
        ge=1,
        le=7 * 24 * 3600,
        description="Lifetime of the presigned URL `GET /calls/{id}/recording` redirects to.",
    )
    recording_storage_timeout_s: float = Field(
        default=10.0, gt=0, description="Deadline of one object storage request."
    )
    recording_retention_days: int = Field(
        default=0,
        ge=0,
        description="Recordings older than this are deleted, unless the organization set its own "
        "period (PUT /recording-retention); 0 keeps them.",
    )
    recording_retention_interval_s: float = Field(
        default=3600.0, gt=0, description="How often expired recordings are deleted."
    )
    recording_backup_dir: str | None = Field(
        default=None,
        description="Where this service reads the recordings LiveKit Egress could not upload and "
        "kept in its backup storage (egress's `backup:` config, a directory mounted here too); "
        "they are uploaded to RECORDING_S3_BUCKET from there until object storage takes them.",
    )
    recording_backup_egress_dir: str | None = Field(
        default=None,
        description="The same directory as egress names it in its file locations, when it is "
        "mounted at another path there (unset: RECORDING_BACKUP_DIR).",
    )
    recording_upload_interval_s: float = Field(
        default=30.0, gt=0, description="How often recordings kept in backup storage are uploaded."
    )
    recording_upload_retry_max_s: float = Field(
        default=3600.0,
        gt=0,
        description="The longest wait between two uploads of a recording kept in backup storage "
        "(the wait doubles from RECORDING_UPLOAD_INTERVAL_S after each failure).",
    )
    public_api_url: str | None = Field(
        default=None,
        description="The API's public base URL (the gateway's), for links in end-of-call reports: "
        "a report's `recording_url` is `<PUBLIC_API_URL>/calls/{id}/recording`.",
        examples=["https://api.example.com"],
    )
    report_wait_s: float = Field(
        default=300.0,
        ge=0,
        description="How long an end-of-call report waits, after the call ended, for the call's "
        "recording to be stored (a recording still pending then is reported as pending).",
    )
    report_interval_s: float = Field(
        default=5.0, gt=0, description="How often reports waiting for their recording are checked."
    )

    @property
    def recording_s3(self) -> S3Settings | None:
        """The object storage recordings go to, None when egress writes local files."""
        if not self.recording_s3_bucket:
            return None
        return S3Settings(
            bucket=self.recording_s3_bucket,
            prefix=self.recording_s3_prefix.strip("/"),
            endpoint=self.recording_s3_endpoint,
            region=self.recording_s3_region,
            access_key=self.recording_s3_access_key or "",
            secret_key=secret_value(self.recording_s3_secret_key) or "",
            force_path_style=self.recording_s3_force_path_style,
        )

    def refuse_placeholder_secrets(self) -> None:
        """The mixins' secrets, then a random webhook signing secret."""
        super().refuse_placeholder_secrets()
        require_random_secret(
            "WEBHOOK_SIGNING_SECRET", self.webhook_signing_secret, DEV_WEBHOOK_SIGNING_SECRET
        )

    def signing_secret(self) -> str:
        """The customer webhook signing key (the dev key in dev mode when none is set)."""
        return secret_value(self.webhook_signing_secret) or DEV_WEBHOOK_SIGNING_SECRET

    @property
    def allows_private_webhooks(self) -> bool:
        """Webhooks to private hosts: as ALLOW_PRIVATE_WEBHOOKS says, else only in dev mode."""
        return self.allows_private(self.allow_private_webhooks)
