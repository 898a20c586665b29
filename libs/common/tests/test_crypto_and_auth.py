"""Secrets rotate safely; tokens are verified with HS256 or through a JWKS URL."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from talkifai_common.auth import HS256Verifier, JWKSVerifier, Role, issue_hs256_token
from talkifai_common.crypto import SecretBox, SecretBoxError, generate_key
from talkifai_common.errors import Forbidden, Unauthenticated
from tests.support.servers import serve_asgi

pytestmark = pytest.mark.unit


def test_first_key_encrypts_every_key_decrypts_and_rotation_moves_to_the_newest() -> None:
    old, new = generate_key(), generate_key()
    token = SecretBox([old]).encrypt("sip-pass")
    both = SecretBox([new, old])
    assert both.decrypt(token) == "sip-pass"
    rotated = both.rotate(token)
    assert SecretBox([new]).decrypt(rotated) == "sip-pass"
    with pytest.raises(SecretBoxError):
        SecretBox([old]).decrypt(rotated)


def test_malformed_key_is_refused_with_a_hint() -> None:
    with pytest.raises(SecretBoxError, match="32 url-safe base64"):
        SecretBox(["not-a-key"])


SECRET = "a-test-secret-that-is-long-enough-1234"


async def test_hs256_token_gives_the_principal() -> None:
    token = issue_hs256_token(SECRET, sub="u1", org_id="org_a", role=Role.ADMIN)
    principal = await HS256Verifier(SECRET).verify(token)
    assert (principal.sub, principal.org_id, principal.role) == ("u1", "org_a", Role.ADMIN)
    principal.require_manager()


async def test_member_is_not_a_manager() -> None:
    token = issue_hs256_token(SECRET, sub="u1", org_id="org_a", role=Role.MEMBER)
    with pytest.raises(Forbidden):
        (await HS256Verifier(SECRET).verify(token)).require_manager()


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "u", "org_id": "o", "role": "owner"},  # no exp
        {"sub": "u", "org_id": "o", "role": "superuser", "exp": 2**31},
        {"sub": "u", "role": "owner", "exp": 2**31},
        {"sub": "u", "org_id": " ", "role": "owner", "exp": 2**31},
    ],
)
async def test_tokens_without_the_required_claims_are_refused(claims: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        await HS256Verifier(SECRET).verify(jwt.encode(claims, SECRET, algorithm="HS256"))


async def test_audience_and_issuer_are_enforced_when_configured() -> None:
    verifier = HS256Verifier(SECRET, audience="talkifai", issuer="https://idp.example.com")
    good = issue_hs256_token(
        SECRET,
        sub="u",
        org_id="o",
        role=Role.OWNER,
        audience="talkifai",
        issuer="https://idp.example.com",
    )
    assert (await verifier.verify(good)).org_id == "o"
    wrong = issue_hs256_token(SECRET, sub="u", org_id="o", role=Role.OWNER, audience="other")
    with pytest.raises(Unauthenticated):
        await verifier.verify(wrong)


async def test_rs256_tokens_verify_against_a_jwks_url() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})

    async def jwks(_: object) -> JSONResponse:
        return JSONResponse({"keys": [jwk]})

    app = Starlette(routes=[Route("/.well-known/jwks.json", jwks)])
    async with serve_asgi(app) as base_url:
        verifier = JWKSVerifier(f"{base_url}/.well-known/jwks.json")
        claims = {"sub": "u", "org_id": "org_rs", "role": "member", "exp": int(time.time()) + 60}
        token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
        assert (await verifier.verify(token)).org_id == "org_rs"
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
        with pytest.raises(Unauthenticated):
            await verifier.verify(forged)
        hs = jwt.encode(claims, "x" * 40, algorithm="HS256", headers={"kid": "k1"})
        with pytest.raises(Unauthenticated):
            await verifier.verify(hs)
