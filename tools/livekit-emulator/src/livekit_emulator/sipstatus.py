"""How a carrier's final SIP response surfaces through LiveKit's API (livekit/protocol `sip.go`)."""

from __future__ import annotations

import base64

from google.protobuf.any_pb2 import Any as AnyMessage
from livekit.protocol.sip import SIPStatus, SIPStatusCode

from livekit_emulator import errors
from livekit_emulator.errors import TwirpError

REASONS: dict[int, str] = {
    200: "OK",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    421: "Extension Required",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    491: "Request Pending",
    493: "Undecipherable",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
    608: "Rejected",
}

# sipCodeToGRPCCode, with gRPC codes written as their Twirp names.
TWIRP_CODE: dict[int, str] = {
    300: "invalid_argument",
    301: "not_found",
    302: "not_found",
    305: "invalid_argument",
    380: "invalid_argument",
    400: "invalid_argument",
    401: "permission_denied",
    402: "permission_denied",
    403: "permission_denied",
    404: "not_found",
    405: "invalid_argument",
    406: "invalid_argument",
    407: "unauthenticated",
    408: "deadline_exceeded",
    409: "failed_precondition",
    410: "not_found",
    411: "invalid_argument",
    412: "failed_precondition",
    413: "invalid_argument",
    414: "invalid_argument",
    415: "invalid_argument",
    416: "out_of_range",
    417: "invalid_argument",
    420: "invalid_argument",
    421: "invalid_argument",
    422: "invalid_argument",
    423: "invalid_argument",
    424: "invalid_argument",
    428: "unauthenticated",
    429: "invalid_argument",
    430: "invalid_argument",
    433: "permission_denied",
    436: "unauthenticated",
    437: "unauthenticated",
    438: "unauthenticated",
    439: "invalid_argument",
    440: "resource_exhausted",
    469: "invalid_argument",
    470: "permission_denied",
    480: "resource_exhausted",
    481: "not_found",
    482: "failed_precondition",
    483: "failed_precondition",
    484: "invalid_argument",
    485: "invalid_argument",
    486: "resource_exhausted",
    487: "aborted",
    488: "invalid_argument",
    489: "invalid_argument",
    491: "aborted",
    493: "invalid_argument",
    494: "unauthenticated",
    500: "failed_precondition",
    501: "failed_precondition",
    502: "failed_precondition",
    503: "failed_precondition",
    504: "deadline_exceeded",
    505: "invalid_argument",
    513: "invalid_argument",
    600: "resource_exhausted",
    603: "permission_denied",
    604: "not_found",
    606: "invalid_argument",
    607: "permission_denied",
    608: "permission_denied",
}

GRPC_CODE: dict[str, int] = {
    "canceled": 1,
    "unknown": 2,
    "invalid_argument": 3,
    "deadline_exceeded": 4,
    "not_found": 5,
    "already_exists": 6,
    "permission_denied": 7,
    "resource_exhausted": 8,
    "failed_precondition": 9,
    "aborted": 10,
    "out_of_range": 11,
    "unimplemented": 12,
    "internal": 13,
    "unavailable": 14,
    "dataloss": 15,
    "unauthenticated": 16,
}

# The SIP service reports these as "INVITE failed"; any other final code is "unexpected status".
INVITE_FAILED_CODES = frozenset({400, 404, 480, 486, 488})


def reason_phrase(code: int) -> str:
    """The standard reason phrase for a SIP status code."""
    return REASONS.get(code, "")


def twirp_code(code: int) -> str:
    """`SIPStatus.GRPCStatus` code, as a Twirp code name."""
    if code in TWIRP_CODE:
        return TWIRP_CODE[code]
    if code < 500:
        return "invalid_argument"
    if code < 600:
        return "failed_precondition"
    return "invalid_argument"


def enum_name(code: int) -> str:
    """`SIPStatusCode.String()`: the enum name, or the number for codes it does not list."""
    try:
        return SIPStatusCode.Name(code)
    except ValueError:
        return str(code)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def error_details(grpc_code: int, message: str, status: SIPStatus) -> str:
    """The `error_details` meta: base64 of a `google.rpc.Status` holding the SIPStatus."""
    detail = AnyMessage()
    detail.Pack(status)
    encoded = (
        _varint(1 << 3)
        + _varint(grpc_code)
        + _field(2, message.encode())
        + _field(3, detail.SerializeToString())
    )
    return base64.b64encode(encoded).decode()


def call_failed(code: int, reason: str | None) -> TwirpError:
    """The error CreateSIPParticipant returns when the carrier answers with a final failure."""
    phrase = reason if reason is not None else reason_phrase(code)
    status_text = (
        f"sip status: {code}: {phrase}" if phrase else f"sip status: {code} ({enum_name(code)})"
    )
    prefix = (
        "INVITE failed: "
        if code in INVITE_FAILED_CODES
        else "unexpected status from INVITE response: "
    )
    message = prefix + status_text
    if code < 400:
        # Counted as a server-side failure after the INVITE went out: made non-retryable,
        # and the SIP status is no longer attached.
        return errors.from_psrpc("failed_precondition", message)
    name = twirp_code(code)
    status = SIPStatus(code=code, status=phrase)  # type: ignore[arg-type]
    meta = {
        "sip_status_code": str(code),
        "sip_status": phrase or enum_name(code),
        "error_details": error_details(GRPC_CODE[name], message, status),
    }
    return errors.from_psrpc(name, message, meta)
