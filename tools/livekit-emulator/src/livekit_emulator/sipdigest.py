"""SIP digest authentication (RFC 2617, MD5, with or without qop=auth), both ways.

Inbound, as livekit/sip (`handleInviteAuth`, icholy/digest): the challenge is
`Digest realm="<auth_realm or LiveKit>", nonce="<µs>-<Call-ID>", algorithm=MD5` without qop, and
the caller's `response` is checked against the digest computed over that challenge, the caller's
`uri` and the trunk's password. Outbound, a carrier's 401/407 challenge is answered with the
trunk's credentials (qop=auth when the challenge offers it, as icholy/digest does).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sipmessage import AuthChallenge, AuthParameters

DEFAULT_REALM = "LiveKit"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def new_nonce(sip_call_id: str) -> str:
    """`generateNonce`: the time in microseconds and the SIP Call-ID."""
    return f"{time.time_ns() // 1000}-{sip_call_id}"


def challenge(realm: str, nonce: str) -> AuthChallenge:
    """The Proxy-Authenticate livekit/sip sends (no qop, algorithm MD5)."""
    return AuthChallenge(
        scheme="Digest", parameters=AuthParameters(realm=realm, nonce=nonce, algorithm="MD5")
    )


def response(
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    realm: str,
    nonce: str,
    qop: str = "",
    cnonce: str = "",
    nc: str = "",
) -> str:
    """The request-digest of RFC 2617 §3.2.2.1 (MD5; qop "auth" or none)."""
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


def verify(
    credentials: AuthParameters, *, method: str, password: str, realm: str, nonce: str
) -> bool:
    """Whether the caller's `response` is the digest livekit/sip computes for its challenge.

    Like icholy/digest's `Digest(challenge, ...)`, the expected value follows the challenge
    (which offered no qop), the caller's `uri` and `username`, and the trunk's password.
    """
    expected = response(
        method=method,
        uri=credentials.get("uri", ""),
        username=credentials.get("username", ""),
        password=password,
        realm=realm,
        nonce=nonce,
    )
    return secrets.compare_digest(expected, credentials.get("response", ""))


def answer(offered: AuthChallenge, *, method: str, uri: str, username: str, password: str) -> str:
    """The Authorization/Proxy-Authorization value answering a carrier's challenge (qop=auth
    when offered); `qop`, `nc` and `algorithm` unquoted as RFC 2617 writes them."""
    params = offered.parameters
    realm = params.get("realm", "")
    nonce = params.get("nonce", "")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    qop = "auth" if "auth" in qops else ""
    cnonce = secrets.token_hex(8) if qop else ""
    nc = "00000001" if qop else ""
    digest = response(
        method=method,
        uri=uri,
        username=username,
        password=password,
        realm=realm,
        nonce=nonce,
        qop=qop,
        cnonce=cnonce,
        nc=nc,
    )
    parts = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
        f'response="{digest}"',
        f"algorithm={params.get('algorithm', 'MD5')}",
    ]
    if "opaque" in params:
        parts.append(f'opaque="{params["opaque"]}"')
    if qop:
        parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
    return "Digest " + ", ".join(parts)
