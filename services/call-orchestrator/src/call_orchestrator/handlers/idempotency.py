"""An outbound call request with an Idempotency-Key: placed once, its answer replayed to retries.

A key is claimed before the call is placed. A definite answer (the call's, or a refusal a retry
would get again) is stored for replay; an outcome a retry should try again (429, 500, 503, a
call in progress, an interruption) releases the key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from call_orchestrator.adapters.postgres import KeyState
from call_orchestrator.domain import CallError
from call_orchestrator.handlers.context import Context
from call_orchestrator.handlers.outbound import place_outbound_call
from call_orchestrator.schemas import OutboundCallRequest, OutboundCallResponse
from talkifai_common.auth import Principal

# Outcomes a retry with the same Idempotency-Key should try again rather than replay.
_NOT_REPLAYED = frozenset({429, 500, 503})


@dataclass(frozen=True)
class Replay:
    """The answer stored for an earlier request with the same key and body."""

    status_code: int
    body: Any


def request_hash(body: OutboundCallRequest) -> str:
    """A fingerprint of a request, so an Idempotency-Key reused for another body is caught."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()


def json_body(model: OutboundCallResponse) -> Any:
    """A response as JSON-ready data (for idempotent replay)."""
    return json.loads(model.model_dump_json())


async def place_once(
    ctx: Context, principal: Principal, body: OutboundCallRequest, key: str | None
) -> tuple[int, OutboundCallResponse] | Replay:
    """`place_outbound_call`, or the stored answer of an earlier request with the same key."""
    if key is None:
        return await place_outbound_call(ctx, principal, body)
    keys = ctx.stores.idempotency
    claim = await keys.claim(principal.org_id, key, request_hash(body))
    if claim.state is KeyState.REPLAY and claim.status_code is not None:
        return Replay(claim.status_code, claim.body)
    if claim.state is KeyState.IN_PROGRESS:
        raise CallError(
            409, "idempotency_key_in_progress", "A request with this Idempotency-Key is running"
        )
    if claim.state is KeyState.MISMATCH:
        raise CallError(
            422, "idempotency_key_reused", "This Idempotency-Key was used with a different request"
        )
    try:
        status, result = await place_outbound_call(ctx, principal, body)
    except CallError as exc:
        if exc.status_code in _NOT_REPLAYED or exc.error == "call_in_progress":
            await keys.release(principal.org_id, key)
        else:
            await keys.finish(principal.org_id, key, exc.status_code, exc.body())
        raise
    except BaseException:
        await keys.release(principal.org_id, key)
        raise
    await keys.finish(principal.org_id, key, status, json_body(result))
    return status, result
