"""Twirp errors as LiveKit's server writes them.

Hierarchy: `EmulatorError` is the package base; `TwirpError` is an error answered to a Twirp
client as JSON `{"code", "msg", "meta"}`; `AuthError` is answered as a plain-text 401, the way
LiveKit's auth middleware does before any Twirp routing happens. Elsewhere: `sip.GoError` (a
plain Go error, answered as code `unknown`), `calls.InboundRejected` (a carrier INVITE refused
with a SIP status) and `testing.ControlError` (a failed control API request).
"""

from __future__ import annotations

# Twirp's status-by-code table (twirp.ServerHTTPStatusFromErrorCode).
HTTP_STATUS: dict[str, int] = {
    "canceled": 408,
    "unknown": 500,
    "invalid_argument": 400,
    "malformed": 400,
    "deadline_exceeded": 408,
    "not_found": 404,
    "bad_route": 404,
    "already_exists": 409,
    "permission_denied": 403,
    "unauthenticated": 401,
    "resource_exhausted": 429,
    "failed_precondition": 412,
    "aborted": 409,
    "out_of_range": 400,
    "unimplemented": 501,
    "internal": 500,
    "unavailable": 503,
    "dataloss": 500,
}


class EmulatorError(Exception):
    """Base of every error the emulator raises on purpose."""


class TwirpError(EmulatorError):
    """An error answered as Twirp JSON with the status of its code."""

    def __init__(self, code: str, msg: str, meta: dict[str, str] | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.meta = dict(meta or {})

    @property
    def status(self) -> int:
        """HTTP status for this code."""
        return HTTP_STATUS.get(self.code, 500)

    def body(self) -> dict[str, object]:
        """The JSON body Twirp writes."""
        out: dict[str, object] = {"code": self.code, "msg": self.msg}
        if self.meta:
            out["meta"] = self.meta
        return out


class AuthError(EmulatorError):
    """A rejected credential, answered as plain text with status 401."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def from_psrpc(code: str, msg: str, meta: dict[str, str] | None = None) -> TwirpError:
    """An error that reaches LiveKit's Twirp layer as a psrpc error.

    LiveKit's `xtwirp.ToError` wraps non-Twirp errors as `unknown` first and only then takes the
    gRPC code, so the message keeps the `twirp error unknown: ` prefix.
    """
    return TwirpError(code, f"twirp error unknown: {msg}", meta)


def permission_denied() -> TwirpError:
    """What `twirpAuthError(ErrPermissionDenied)` produces: a missing token or grant."""
    return TwirpError("unauthenticated", "permissions denied")


def invalid(msg: str) -> TwirpError:
    """A validation failure."""
    return TwirpError("invalid_argument", msg)


def not_found(msg: str) -> TwirpError:
    """A not_found error raised directly as a Twirp error."""
    return TwirpError("not_found", msg)


SIP_TRUNK_NOT_FOUND = "requested sip trunk does not exist"
SIP_RULE_NOT_FOUND = "requested sip dispatch rule does not exist"
ROOM_NOT_FOUND = "requested room does not exist"
PARTICIPANT_NOT_FOUND = "participant does not exist"
EGRESS_NOT_FOUND = "egress does not exist"


def go_quote(value: str) -> str:
    """Go's `%q` for a string: double quotes with backslash escapes."""
    out = ['"']
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_quote_list(values: list[str]) -> str:
    """Go's `%q` for a []string: `["a" "b"]`."""
    return "[" + " ".join(go_quote(v) for v in values) + "]"
