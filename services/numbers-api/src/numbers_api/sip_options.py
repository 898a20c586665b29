"""The trunk doctor's SIP: an OPTIONS request, digest credentials for it, matching its answer.

Messages are built and parsed with sipmessage. Challenges and the digest (RFC 2617 as RFC 3261
section 22 uses it, MD5 or RFC 8760's SHA-256, with qop=auth or without) are handled here, in a
few lines: sipmessage 0.7 splits `qop="auth,auth-int"` at its comma and refuses the challenge,
and its writer quotes `qop` and `nc`, which RFC 3261 section 25 writes bare.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field

from sipmessage import URI, Address, CSeq, Parameters, Request, Response, Via

from talkifai_common.destinations import literal_address
from talkifai_common.events import SipTransport

USER_AGENT = "TalkifAI trunk doctor"
BRANCH_MAGIC = "z9hG4bK"  # RFC 3261 section 8.1.1.7
HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
_AUTH_PARAM = re.compile(r'([A-Za-z][\w-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]+)')


class UnsupportedChallenge(ValueError):
    """A challenge this probe cannot answer (another scheme, algorithm or qop)."""


def _sip_host(host: str) -> str:
    """`host` as a SIP URI writes it: an IPv6 address in brackets."""
    address = literal_address(host)
    return f"[{address}]" if address is not None and address.version == 6 else host


@dataclass
class OptionsDialog:
    """One OPTIONS exchange with a carrier: the same Call-ID and From tag for every request
    (the first and the one with credentials), a fresh branch and the next CSeq each time."""

    host: str
    port: int
    transport: SipTransport
    local_host: str
    local_port: int
    username: str | None = None
    call_id: str = field(default_factory=lambda: f"{secrets.token_hex(12)}@talkifai")
    from_tag: str = field(default_factory=lambda: secrets.token_hex(6))
    cseq: int = 0

    @property
    def uri(self) -> URI:
        """The Request-URI: the carrier's host, port and (unless UDP) transport."""
        parameters = (
            Parameters()
            if self.transport == SipTransport.UDP
            else Parameters(transport=self.transport.value)
        )
        return URI(scheme="sip", host=_sip_host(self.host), port=self.port, parameters=parameters)

    def request(self, authorization: tuple[str, str] | None = None) -> Request:
        """The next OPTIONS; `authorization` is a (header name, value) answering a challenge."""
        self.cseq += 1
        local = _sip_host(self.local_host)
        user = self.username or "probe"
        request = Request("OPTIONS", self.uri)
        request.via = [
            Via(
                transport=self.transport.value.upper(),
                host=local,
                port=self.local_port,
                parameters=Parameters(branch=BRANCH_MAGIC + secrets.token_hex(8), rport=None),
            )
        ]
        request.max_forwards = 70
        request.from_address = Address(
            uri=URI(scheme="sip", host=_sip_host(self.host), user=user),
            parameters=Parameters(tag=self.from_tag),
        )
        request.to_address = Address(uri=URI(scheme="sip", host=_sip_host(self.host)))
        request.call_id = self.call_id
        request.cseq = CSeq(self.cseq, "OPTIONS")
        request.contact = [
            Address(uri=URI(scheme="sip", host=local, port=self.local_port, user=user))
        ]
        request.headers.add("Accept", "application/sdp")
        request.headers.add("User-Agent", USER_AGENT)
        if authorization is not None:
            request.headers.add(*authorization)
        request.content_length = 0
        return request


def answers(response: Response, request: Request) -> bool:
    """Whether `response` belongs to `request` (its branch, Call-ID and CSeq)."""
    try:
        branch = response.via[0].parameters.get("branch") if response.via else None
        return (
            branch == request.via[0].parameters.get("branch")
            and response.call_id == request.call_id
            and response.cseq == request.cseq
        )
    except (KeyError, ValueError):
        return False


@dataclass(frozen=True)
class Challenge:
    """One challenge of a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate), and the header
    that answers it."""

    answer_header: str
    scheme: str
    params: dict[str, str]

    @property
    def realm(self) -> str:
        """The realm the carrier names (may be empty)."""
        return self.params.get("realm", "")


def parse_challenge(value: str, answer_header: str) -> Challenge:
    """A challenge header's scheme and parameters (quoted values unquoted)."""
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for name, raw in _AUTH_PARAM.findall(rest):
        params[name.lower()] = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
    return Challenge(answer_header, scheme, params)


def challenges_of(response: Response) -> list[Challenge]:
    """Every challenge of a 401 or 407, in the carrier's order of preference."""
    if response.code == 407:
        name, answer_header = "Proxy-Authenticate", "Proxy-Authorization"
    else:
        name, answer_header = "WWW-Authenticate", "Authorization"
    return [parse_challenge(value, answer_header) for value in response.headers.getlist(name)]


def digest_authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str | None = None,
) -> str:
    """The value of an Authorization header answering a Digest `challenge` (nonce count 1)."""
    if challenge.scheme.lower() != "digest":
        raise UnsupportedChallenge(f"the carrier asks for {challenge.scheme} authentication")
    params = challenge.params
    algorithm = params.get("algorithm", "MD5")
    hash_ = HASHES.get(algorithm.upper())
    if hash_ is None:
        raise UnsupportedChallenge(f"the carrier's digest algorithm {algorithm} is not supported")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    if qops and "auth" not in qops:
        raise UnsupportedChallenge(f"the carrier's qop {params['qop']} is not supported")
    realm, nonce = params.get("realm", ""), params.get("nonce", "")

    def h(text: str) -> str:
        return hash_(text.encode()).hexdigest()

    ha1 = h(f"{username}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    fields = [
        f'username="{_quoted(username)}"',
        f'realm="{_quoted(realm)}"',
        f'nonce="{_quoted(nonce)}"',
        f'uri="{uri}"',
    ]
    if qops:
        cnonce = cnonce or secrets.token_hex(8)
        response = h(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", "nc=00000001", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{h(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append(f"algorithm={algorithm}")
    if "opaque" in params:
        fields.append(f'opaque="{_quoted(params["opaque"])}"')
    return "Digest " + ", ".join(fields)


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
