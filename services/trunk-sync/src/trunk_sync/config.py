"""trunk-sync settings, read from the environment once by `main()`."""

from __future__ import annotations

from pydantic import Field

from talkifai_common.settings import InternalTokenSettings, LiveKitSettings, ServiceSettings


class Settings(ServiceSettings, InternalTokenSettings, LiveKitSettings):
    """Everything trunk-sync reads from the environment."""

    port: int = Field(default=8030, ge=0, le=65535, validation_alias="TRUNK_SYNC_PORT")
    numbers_api_url: str = "http://127.0.0.1:8010"
    numbers_api_timeout_s: float = Field(default=5.0, gt=0)
    livekit_timeout_s: float = Field(default=5.0, gt=0)
    reconcile_interval_s: float = Field(
        default=30.0, gt=0, le=60, description="Seconds between full reconciles (and at start)."
    )
    reconcile_concurrency: int = Field(default=16, ge=1, description="Repairs run at once.")
    consumer_durable: str = Field(
        default="trunk-sync", description="The JetStream durable shared by every replica."
    )
    consumer_batch: int = Field(
        default=64, ge=1, le=1000, description="Messages fetched and handled concurrently."
    )
    ack_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="Unacknowledged messages (a replica died) are redelivered after this long.",
    )
    # MAX_DELIVERIES, RETRY_BASE_S and RETRY_MAX_S: every service's (talkifai_common.settings).
    number_lock_ttl_s: float = Field(
        default=5.0,
        gt=0,
        description="A replica that dies while syncing a number holds its lease this long.",
    )
    number_lock_wait_s: float = Field(
        default=2.0,
        ge=0,
        description="How long a sync waits for another replica's lease on its number before the "
        "message is retried later (at most half of ACK_WAIT_S).",
    )
    allow_private_sip_destinations: bool | None = Field(
        default=None,
        description="Write outbound trunks to hosts that are not globally routable (unset: only "
        "in dev mode).",
    )

    @property
    def allows_private_sip_destinations(self) -> bool:
        """Private termination hosts: as ALLOW_PRIVATE_SIP_DESTINATIONS says, else only in dev
        mode."""
        return self.allows_private(self.allow_private_sip_destinations)
