"""Read models of agents and phone numbers: fed by `telephony.agent.*` / `telephony.phone_number.*`
events, loaded from numbers-api at start (numbers) and on a miss (agents), and refreshed after a
reconnection to NATS (events sent meanwhile were missed).

They live in the worker's process; jobs run as threads of it and read them through `Context`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from agent_runtime.domain import UnknownAgent
from talkifai_common.events import AgentData, PhoneNumberData


@dataclass(frozen=True)
class KnownAgent:
    """An agent and its organization."""

    org_id: str
    agent: AgentData


@dataclass(frozen=True)
class KnownNumber:
    """A phone number and its organization."""

    org_id: str
    number: PhoneNumberData


class AgentSource(Protocol):
    """Where agents come from when the read model has not seen them (numbers-api)."""

    async def fetch_agent(self, agent_id: str) -> KnownAgent | None: ...


class NumberSource(Protocol):
    """Every phone number, for the initial load (numbers-api)."""

    async def fetch_number(self, number_id: str) -> KnownNumber | None: ...

    async def all_numbers(self) -> list[KnownNumber]: ...


class AgentDirectory:
    """Agents by id; newer versions win, deletions are remembered so a stale read cannot revive one."""

    def __init__(self, source: AgentSource) -> None:
        self._source = source
        self._agents: dict[str, KnownAgent] = {}
        self._deleted: dict[str, int] = {}

    def apply(self, org_id: str, agent: AgentData, *, deleted: bool = False) -> bool:
        """Apply an event; returns whether it changed the model (older versions are ignored)."""
        current = self._agents.get(agent.id)
        if current is not None and current.agent.version > agent.version:
            return False
        if agent.version <= self._deleted.get(agent.id, -1):
            return False
        if deleted:
            self._agents.pop(agent.id, None)
            self._deleted[agent.id] = agent.version
        else:
            self._agents[agent.id] = KnownAgent(org_id, agent)
        return True

    def forget(self) -> None:
        """Drop every held agent (events may have been missed): each is fetched again when next
        needed. Deletions stay remembered: ids are never reused."""
        self._agents.clear()

    def peek(self, agent_id: str) -> KnownAgent | None:
        """The agent if the model holds it."""
        return self._agents.get(agent_id)

    async def get(self, agent_id: str) -> KnownAgent:
        """The agent, fetched from numbers-api on a miss; UnknownAgent when it does not exist."""
        known = self._agents.get(agent_id)
        if known is not None:
            return known
        if agent_id in self._deleted:
            raise UnknownAgent(agent_id)
        fetched = await self._source.fetch_agent(agent_id)
        if fetched is None:
            raise UnknownAgent(agent_id)
        self.apply(fetched.org_id, fetched.agent)
        return self._agents.get(agent_id) or fetched

    def __len__(self) -> int:
        return len(self._agents)


class NumberDirectory:
    """Phone numbers by id and by E.164, loaded in full at start (and after missed events) and
    kept by events."""

    def __init__(self, source: NumberSource) -> None:
        self._source = source
        self._by_id: dict[str, KnownNumber] = {}
        self._id_by_e164: dict[str, str] = {}
        self._deleted: dict[str, int] = {}
        self._changed_during_load: set[str] | None = None
        self.loaded = False

    async def load(self) -> int:
        """(Re)load every number numbers-api holds: at start, and after missed events.

        A held number the listing lacks was deleted meanwhile and is dropped, unless an event
        changed it while the listing was being read (the event is newer than the listing).
        """
        self._changed_during_load = set()
        try:
            listed = await self._source.all_numbers()
            for known in listed:
                self.apply(known.org_id, known.number)
            keep = {known.number.id for known in listed} | self._changed_during_load
            for gone in set(self._by_id) - keep:
                number = self._by_id.pop(gone).number
                self._id_by_e164.pop(number.phone_number, None)
                self._deleted[gone] = number.version
        finally:
            self._changed_during_load = None
        self.loaded = True
        return len(self._by_id)

    def apply(self, org_id: str, number: PhoneNumberData, *, deleted: bool = False) -> bool:
        """Apply an event; returns whether it changed the model (older versions are ignored)."""
        current = self._by_id.get(number.id)
        if current is not None and current.number.version > number.version:
            return False
        if number.version <= self._deleted.get(number.id, -1):
            return False
        if self._changed_during_load is not None:
            self._changed_during_load.add(number.id)
        if current is not None:
            self._id_by_e164.pop(current.number.phone_number, None)
        if deleted:
            self._by_id.pop(number.id, None)
            self._deleted[number.id] = number.version
        else:
            self._by_id[number.id] = KnownNumber(org_id, number)
            self._id_by_e164[number.phone_number] = number.id
        return True

    async def find(self, number_id: str | None, e164: str | None) -> KnownNumber | None:
        """The number by id (fetched on a miss) or by E.164; None when unknown."""
        if number_id:
            known = self._by_id.get(number_id)
            if known is None and number_id not in self._deleted:
                known = await self._source.fetch_number(number_id)
                if known is not None:
                    self.apply(known.org_id, known.number)
            if known is not None:
                return known
        if e164 and e164 in self._id_by_e164:
            return self._by_id.get(self._id_by_e164[e164])
        return None
