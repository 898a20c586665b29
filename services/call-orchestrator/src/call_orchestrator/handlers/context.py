"""What the handlers share: the stores and ports, and the tasks that outlive a request."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog

from call_orchestrator.adapters.livekit import LiveKitPort
from call_orchestrator.adapters.postgres import Stores
from call_orchestrator.adapters.recording_storage import RecordingFiles
from call_orchestrator.config import Settings
from talkifai_common.agent_capabilities import RuntimeBoard

log = structlog.get_logger(__name__)
JITTER = 0.2  # spread of the periodic work of several replicas


@dataclass
class BackgroundTasks:
    """Tasks that outlive a request (calls placed without waiting, polls); drained on shutdown."""

    tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background, keeping a reference until it ends."""
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background_task.failed", task=task.get_name(), error=repr(exc))

    async def drain(self, grace_s: float) -> None:
        """Let running tasks finish for up to `grace_s`, then cancel the rest."""
        if not self.tasks:
            return
        _, pending = await asyncio.wait(set(self.tasks), timeout=grace_s)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(BaseException):
                await task


@dataclass
class Context:
    """What the handlers need, built once by `create_app`."""

    stores: Stores
    livekit: LiveKitPort
    settings: Settings
    background: BackgroundTasks
    runtimes: RuntimeBoard
    recording_files: RecordingFiles
