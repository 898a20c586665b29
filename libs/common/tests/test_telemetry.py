"""Log lines: one JSON object each, libraries' `extra` fields kept, secrets redacted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.unit

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


PER_CALL_SCRIPT = """
import logging, sys, httpx
from talkifai_common.telemetry import configure_logging
configure_logging("svc", level=sys.argv[1], fmt="json")
with httpx.Client(transport=httpx.MockTransport(lambda request: httpx.Response(200))) as http:
    http.get("http://numbers-api.test/internal/phone-numbers")
logging.getLogger("uvicorn.error").info(
    "Started server process [%d]", 7, extra={"color_message": "Started server process [\\x1b[36m%d\\x1b[0m]"}
)
"""


def _log_lines(level: str) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-c", PER_CALL_SCRIPT, level], capture_output=True, text=True, check=True
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_outgoing_http_calls_are_logged_at_debug_only() -> None:
    at_info = _log_lines("INFO")
    at_debug = _log_lines("DEBUG")
    assert not [line for line in at_info if line["logger"] == "httpx"]
    assert [line for line in at_debug if line["logger"] == "httpx"]


def test_uvicorn_lines_carry_their_message_once_without_terminal_colours() -> None:
    (started,) = [line for line in _log_lines("INFO") if line["logger"] == "uvicorn.error"]
    assert started["event"] == "Started server process [7]"
    assert "color_message" not in started
