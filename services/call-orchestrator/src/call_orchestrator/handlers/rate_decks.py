"""Each organization's rate deck: read by members, replaced by owners and admins."""

from __future__ import annotations

from call_orchestrator.adapters.postgres import DeckVersion, DeckVersionTaken, RateDeckStore
from call_orchestrator.rate_deck import RateDeck, StoredRateDeck, default_rate_deck
from talkifai_common.auth import Principal
from talkifai_common.errors import Conflict


async def deck_for(store: RateDeckStore, org_id: str) -> tuple[int, RateDeck]:
    """The deck that prices the organization's calls now, with its version (0: the default)."""
    current = await store.current(org_id)
    if current is None:
        return 0, default_rate_deck()
    return current.version, current.deck


async def get_rate_deck(store: RateDeckStore, principal: Principal) -> StoredRateDeck:
    """The organization's current deck, or the default one while it has none."""
    current = await store.current(principal.org_id)
    if current is None:
        return StoredRateDeck(
            version=0, is_default=True, updated_at=None, updated_by=None, deck=default_rate_deck()
        )
    return _stored(current)


async def put_rate_deck(
    store: RateDeckStore, principal: Principal, deck: RateDeck
) -> StoredRateDeck:
    """Replace the organization's deck (owners and admins): the next version prices the calls
    priced from now on; calls already priced keep theirs."""
    principal.require_manager()
    try:
        added = await store.add(principal.org_id, deck, principal.sub)
    except DeckVersionTaken as exc:
        raise Conflict("The rate deck was changed at the same time; read it and try again") from exc
    return _stored(added)


def _stored(version: DeckVersion) -> StoredRateDeck:
    return StoredRateDeck(
        version=version.version,
        is_default=False,
        updated_at=version.created_at,
        updated_by=version.created_by,
        deck=version.deck,
    )
