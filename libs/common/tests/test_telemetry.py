"""Log lines: one JSON object each, libraries' `extra` fields kept, secrets redacted."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging, structlog
from talkifai_common.telemetry import configure_logging
configure_logging("svc", fmt="json")
logging.getLogger("livekit.agents").info(
    "received job request", extra={"job_id": "AJ_1", "sip_password": "hunter2"}
)
structlog.get_logger("ours").info("call.failed", room="r1", token="t0ps3cret")
"""


def test_library_log_records_keep_their_extra_fields_and_secrets_are_redacted() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True
    ).stdout
    library, ours = (json.loads(line) for line in out.splitlines())
    assert library["event"] == "received job request"
    assert library["logger"] == "livekit.agents"
    assert library["job_id"] == "AJ_1"
    assert library["service"] == "svc"
    assert library["sip_password"] == "[redacted]"
    assert ours["room"] == "r1"
    assert ours["token"] == "[redacted]"
    assert "hunter2" not in out and "t0ps3cret" not in out
