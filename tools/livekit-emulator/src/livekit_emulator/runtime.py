"""The running emulator: configuration, state and the managers that act on it."""

from __future__ import annotations

import asyncio

from livekit_emulator import agents, calls, egress, rooms, sip
from livekit_emulator.calls import CallManager
from livekit_emulator.config import EmulatorConfig
from livekit_emulator.rooms import RoomManager
from livekit_emulator.rtc import MediaHub
from livekit_emulator.sipedge import SipEdge
from livekit_emulator.state import EmulatorState
from livekit_emulator.twirp import Method
from livekit_emulator.webhooks import WebhookSender
from livekit_emulator.workers import WorkerManager


class Emulator:
    """One emulated LiveKit server with its SIP service."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.state = EmulatorState()
        # Set, then replaced, by each reset: a request held back by a latency fault across a
        # reset was sent to the server that was reset and is answered at once, not carried out
        # on the fresh one (a restarted LiveKit does not act on its former process's requests).
        self.reset_signal = asyncio.Event()
        self.webhooks = WebhookSender(config)
        self.rooms = RoomManager(config, self.state, self.webhooks)
        self.calls = CallManager(self.state, self.rooms, config.default_ringing_timeout_s)
        self.calls.default_callee_script = [dict(step) for step in config.default_callee_script]
        self.rooms.room_closed_hooks.append(lambda record: egress.on_room_closed(self, record))
        self.workers = WorkerManager(config, self.state)
        self.rooms.dispatch_hooks.append(self.workers.on_dispatch)
        self.rooms.room_closed_hooks.append(self.workers.on_room_closed)
        self.media = MediaHub(self)
        # The SIP edge: carriers' INVITEs over UDP/TCP/TLS, and real outbound INVITEs.
        self.sip: SipEdge | None = None
        if config.sip_enabled:
            self.sip = SipEdge(config, self.state, self.calls)
            self.calls.sip_edge = self.sip
        self.services: dict[str, dict[str, Method]] = {
            "SIP": {**sip.METHODS, **calls.METHODS},
            "AgentDispatchService": agents.METHODS,
            "RoomService": rooms.METHODS,
            "Egress": egress.METHODS,
        }

    async def start(self) -> None:
        """Open the listeners that are not HTTP (the SIP edge's)."""
        if self.sip is not None:
            await self.sip.start()

    def reset(self) -> None:
        """Forget everything (resources, calls, outcomes, faults, jobs) without sending webhooks.

        Connected agent workers stay registered: they are connections, not resources.
        """
        self.reset_signal.set()
        self.reset_signal = asyncio.Event()
        self.calls.shutdown()
        self.rooms.shutdown()
        self.workers.shutdown()
        self.media.reset()
        if self.sip is not None:
            self.sip.reset()
        fresh = EmulatorState()
        for name in fresh.__dataclass_fields__:
            if name != "workers":
                setattr(self.state, name, getattr(fresh, name))

    async def aclose(self) -> None:
        """Disconnect participants, stop calls and timers, deliver what webhooks are queued."""
        await self.media.aclose()
        if self.sip is not None:
            await self.sip.close()
        self.calls.shutdown()
        self.rooms.shutdown()
        self.workers.shutdown()
        await self.webhooks.drain()
