"""PostgreSQL, one store per aggregate over one shared pool.

`calls` (the call history, each change one statement with its event and webhook), `live_calls`
(each organization's live-call slots), `read_models` and `targets` (numbers, trunks and agents from
the events), `idempotency` (Idempotency-Keys), `deliveries` (the customer webhook queue),
`livekit_webhooks` (LiveKit webhook ids seen), `rate_decks` and `costs` (each organization's rate
decks; the usage reported per call, its cost and the usage totals), `transcripts` (call
transcripts and their end-of-call reports), `recordings` (call recordings and each
organization's retention period), `campaigns`, `campaign_rows`, `campaign_dials` and
`campaign_outcomes` (batches of outbound calls, their rows, and their scheduler's shared state) and `do_not_call` (each organization's do-not-call list).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from call_orchestrator.adapters.postgres.call_rows import (
    CallChanges,
    CallRow,
    CampaignCall,
    NewCall,
)
from call_orchestrator.adapters.postgres.calls import CallStore
from call_orchestrator.adapters.postgres.campaign_dials import (
    CampaignDialStore,
    Claimed,
    Passed,
)
from call_orchestrator.adapters.postgres.campaign_outcomes import CampaignOutcomeStore
from call_orchestrator.adapters.postgres.campaign_rows import (
    CampaignRowStore,
    ResultLine,
    StoredAttempt,
    StoredRow,
)
from call_orchestrator.adapters.postgres.campaigns import CampaignStore, NewCampaign, NewRow
from call_orchestrator.adapters.postgres.costs import (
    CostStore,
    DeckVersion,
    DeckVersionTaken,
    GroupBy,
    RateDeckStore,
    UsageRow,
)
from call_orchestrator.adapters.postgres.deliveries import AttemptOutcome, Delivery, DeliveryStore
from call_orchestrator.adapters.postgres.do_not_call import BlockedNumber, DoNotCallStore
from call_orchestrator.adapters.postgres.idempotency import IdempotencyStore, KeyClaim, KeyState
from call_orchestrator.adapters.postgres.live_calls import LiveCallStore
from call_orchestrator.adapters.postgres.livekit_webhooks import LiveKitWebhookLog
from call_orchestrator.adapters.postgres.read_models import ReadModelStore
from call_orchestrator.adapters.postgres.recordings import (
    KeptRecording,
    RecordingStore,
    Retention,
    StoredObject,
)
from call_orchestrator.adapters.postgres.sql import (
    AttemptFenced,
    CallInProgress,
    StoreError,
    TooManyCalls,
    utcnow,
)
from call_orchestrator.adapters.postgres.targets import TargetStore
from call_orchestrator.adapters.postgres.transcripts import (
    PartSaved,
    StoredTranscript,
    TranscriptStore,
)

__all__ = [
    "AttemptFenced",
    "AttemptOutcome",
    "BlockedNumber",
    "CallChanges",
    "CallInProgress",
    "CallRow",
    "CallStore",
    "CampaignCall",
    "CampaignDialStore",
    "CampaignOutcomeStore",
    "CampaignRowStore",
    "CampaignStore",
    "Claimed",
    "CostStore",
    "DeckVersion",
    "DeckVersionTaken",
    "Delivery",
    "DeliveryStore",
    "DoNotCallStore",
    "GroupBy",
    "IdempotencyStore",
    "KeptRecording",
    "KeyClaim",
    "KeyState",
    "LiveCallStore",
    "LiveKitWebhookLog",
    "NewCall",
    "NewCampaign",
    "NewRow",
    "PartSaved",
    "Passed",
    "RateDeckStore",
    "ReadModelStore",
    "RecordingStore",
    "ResultLine",
    "Retention",
    "StoreError",
    "StoredAttempt",
    "StoredObject",
    "StoredRow",
    "StoredTranscript",
    "Stores",
    "TargetStore",
    "TooManyCalls",
    "TranscriptStore",
    "UsageRow",
    "utcnow",
]


@dataclass(frozen=True)
class Stores:
    """call-orchestrator's stores, sharing one pool."""

    pool: asyncpg.Pool
    calls: CallStore
    live_calls: LiveCallStore
    read_models: ReadModelStore
    targets: TargetStore
    idempotency: IdempotencyStore
    deliveries: DeliveryStore
    livekit_webhooks: LiveKitWebhookLog
    rate_decks: RateDeckStore
    costs: CostStore
    transcripts: TranscriptStore
    recordings: RecordingStore
    campaigns: CampaignStore
    campaign_rows: CampaignRowStore
    campaign_dials: CampaignDialStore
    campaign_outcomes: CampaignOutcomeStore
    do_not_call: DoNotCallStore

    @classmethod
    def create(cls, pool: asyncpg.Pool, *, webhook_retry_window_s: float = 3600.0) -> Stores:
        """Every store over `pool`."""
        return cls(
            pool=pool,
            calls=CallStore(pool, webhook_retry_window_s=webhook_retry_window_s),
            live_calls=LiveCallStore(pool),
            read_models=ReadModelStore(pool),
            targets=TargetStore(pool),
            idempotency=IdempotencyStore(pool),
            deliveries=DeliveryStore(pool),
            livekit_webhooks=LiveKitWebhookLog(pool),
            rate_decks=RateDeckStore(pool),
            costs=CostStore(pool),
            transcripts=TranscriptStore(pool, webhook_retry_window_s=webhook_retry_window_s),
            recordings=RecordingStore(pool),
            campaigns=CampaignStore(pool),
            campaign_rows=CampaignRowStore(pool),
            campaign_dials=CampaignDialStore(pool),
            campaign_outcomes=CampaignOutcomeStore(pool),
            do_not_call=DoNotCallStore(pool),
        )
