"""trunk-sync's work as plain async functions over its `Context` (the ports).

Level-triggered: an event only names a number; `sync_number` reads the number's current state from
numbers-api and makes LiveKit match it, so duplicates, replays and out-of-order events all end in
the latest state. `full_reconcile` does the same for every number and removes orphans.
"""

from trunk_sync.handlers.context import (
    Context,
    Index,
    NumberLeases,
    NumberLocks,
    ResultSink,
    SoleReplica,
)
from trunk_sync.handlers.events import Ack, Disposition, Retry, on_malformed_event, on_number_event
from trunk_sync.handlers.reconcile import ReconcileReport, full_reconcile
from trunk_sync.handlers.results import error_text, report, sync_event
from trunk_sync.handlers.sync import Gone, Outcome, Refused, Synced, apply, lookup, sync_number

__all__ = [
    "Ack",
    "Context",
    "Disposition",
    "Gone",
    "Index",
    "NumberLeases",
    "NumberLocks",
    "Outcome",
    "ReconcileReport",
    "Refused",
    "ResultSink",
    "Retry",
    "SoleReplica",
    "Synced",
    "apply",
    "error_text",
    "full_reconcile",
    "lookup",
    "on_malformed_event",
    "on_number_event",
    "report",
    "sync_event",
    "sync_number",
]
