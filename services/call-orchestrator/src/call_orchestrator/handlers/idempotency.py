"""An outbound call request with an Idempotency-Key: placed once, its answer replayed to retries.

A key is claimed before the call is placed. A definite answer (the call's, or a refusal a retry
would get again) is stored for replay, as the HTTP edge renders it; an outcome a retry should try
again (a `retryable` CallError, an interruption) releases the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from call_orchestrator.adapters.postgres import KeyState
from call_orchestrator.errors import CallError, IdempotencyKeyInProgress, IdempotencyKeyReused
from call_orchestrator.handlers.context import Context
from call_orchestrator.handlers.outbound import place_outbound_call
from call_orchestrator.schemas import OutboundCallRequest, OutboundCallResponse
from talkifai_common.auth import Principal


@dataclass(frozen=True)
class Replay:
    """An answer as the HTTP edge gives it: stored for, and replayed to, the same key and body."""

    status_code: int
    body: Any


# How the HTTP edge answers an outcome; the handler stores that answer without reading it.
AnswerOf = Callable[[OutboundCallResponse | CallError], Replay]


def request_hash(body: OutboundCallRequest) -> str:
    """A fingerprint of a request, so an Idempotency-Key reused for another body is caught."""
    # JSON objects are unordered: `metadata` sent as {"b": 2, "a": 1} is the same request as
    # {"a": 1, "b": 2}, so its keys are sorted at every depth (the fields themselves are dumped in
    # declared order, so fingerprints stored before this stay valid when metadata was absent).
    if body.metadata:
        body = body.model_copy(update={"metadata": _sorted(body.metadata)})
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted(item) for item in value]
    return value


def json_body(model: OutboundCallResponse) -> Any:
    """A response as JSON-ready data (for idempotent replay)."""
    return json.loads(model.model_dump_json())


async def place_once(
    ctx: Context,
    principal: Principal,
    body: OutboundCallRequest,
    key: str | None,
    answer_of: AnswerOf,
) -> OutboundCallResponse | Replay:
    """`place_outbound_call`, or the stored answer of an earlier request with the same key."""
    if key is None:
        return await place_outbound_call(ctx, principal, body)
    keys = ctx.stores.idempotency
    claim = await keys.claim(principal.org_id, key, request_hash(body))
    if claim.state is KeyState.REPLAY and claim.status_code is not None:
        return Replay(claim.status_code, claim.body)
    if claim.state is KeyState.IN_PROGRESS:
        raise IdempotencyKeyInProgress()
    if claim.state is KeyState.MISMATCH:
        raise IdempotencyKeyReused()
    try:
        result = await place_outbound_call(ctx, principal, body)
    except CallError as exc:
        if exc.retryable:
            await keys.release(principal.org_id, key)
        else:
            await _finish(ctx, principal, key, answer_of(exc))
        raise
    except BaseException:
        await keys.release(principal.org_id, key)
        raise
    await _finish(ctx, principal, key, answer_of(result))
    return result


async def _finish(ctx: Context, principal: Principal, key: str, answer: Replay) -> None:
    await ctx.stores.idempotency.finish(principal.org_id, key, answer.status_code, answer.body)
