"""Structured (JSON lines) logging for the emulator's process."""

from __future__ import annotations

import json
import logging
import sys
import time

# Attributes every LogRecord has; anything else was passed through `extra=` and is logged as a field.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI-coloured duplicate of msg
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render a record."""
        out: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def configure(level: str = "INFO") -> None:
    """Send the emulator's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class DenialResponseNoise(logging.Filter):
    """Drops uvicorn's "ASGI callable returned without completing handshake." error.

    `/rtc` refuses a join it cannot take (the `/rtc/v1` path every SDK tries first, bad tokens,
    the `refuse_joins` fault) with a WebSocket denial response (the HTTP status and the reason);
    the client receives it, but uvicorn's websockets-sansio implementation never marks the
    handshake done after a denial and logs this error for each one (Kludex/uvicorn#3138, open).
    Denials are the only handshake-less returns the emulator makes, so the message is noise here.
    """

    MESSAGE = "ASGI callable returned without completing handshake."

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every record but that one."""
        return record.getMessage() != self.MESSAGE


def quiet_denial_responses() -> None:
    """Install `DenialResponseNoise` on uvicorn's error logger (once)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, DenialResponseNoise) for f in logger.filters):
        logger.addFilter(DenialResponseNoise())
