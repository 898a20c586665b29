"""The trunk doctor's pure parts: digest answers against the RFCs' own examples, the verdict, the
summary and the report's JSON."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from numbers_api.sip_options import UnsupportedChallenge, digest_authorization, parse_challenge
from numbers_api.trunk_check import (
    CheckStep,
    CheckTarget,
    StepName,
    StepStatus,
    TrunkCheck,
    Verdict,
    options_answer,
    report,
)
from talkifai_common.events import SipTransport

pytestmark = pytest.mark.unit

TARGET = CheckTarget(termination_uri="acme.pstn.twilio.com", transport=SipTransport.TLS)


def test_the_md5_digest_matches_rfc_2617s_example() -> None:
    challenge = parse_challenge(
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
        "Authorization",
    )
    value = digest_authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in value
    # RFC 3261 section 25 writes qop and nc bare.
    assert "qop=auth, nc=00000001" in value
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in value


def test_the_sha256_digest_matches_rfc_7616s_example() -> None:
    challenge = parse_challenge(
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"',
        "Authorization",
    )
    value = digest_authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        username="Mufasa",
        password="Circle of Life",
        cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    )
    assert 'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"' in value


@pytest.mark.parametrize(
    "header",
    [
        'Basic realm="x"',
        'Digest realm="x", nonce="n", algorithm=MD5-sess',
        'Digest realm="x", nonce="n", qop="auth-int"',
    ],
)
def test_a_challenge_the_probe_cannot_answer_says_so(header: str) -> None:
    with pytest.raises(UnsupportedChallenge):
        digest_authorization(
            parse_challenge(header, "Authorization"),
            method="OPTIONS",
            uri="sip:x",
            username="u",
            password="p",
        )


def _step(name: StepName, status: StepStatus) -> CheckStep:
    return CheckStep(
        name=name, status=status, detail=f"{name.value} went {status.value}", duration_ms=1
    )


@pytest.mark.parametrize(
    ("statuses", "verdict"),
    [
        ([StepStatus.OK, StepStatus.SKIPPED, StepStatus.OK], Verdict.HEALTHY),
        ([StepStatus.OK, StepStatus.WARNING, StepStatus.OK], Verdict.DEGRADED),
        ([StepStatus.WARNING, StepStatus.FAILED, StepStatus.SKIPPED], Verdict.FAILING),
    ],
)
def test_the_verdict_is_the_worst_step(statuses: list[StepStatus], verdict: Verdict) -> None:
    steps = tuple(_step(n, s) for n, s in zip(StepName, statuses, strict=False))
    checked = report(steps, target=TARGET, checked_at=datetime.now(UTC), round_trip_ms=12.3)
    assert checked.verdict == verdict


def test_the_summary_tells_the_first_failure() -> None:
    steps = (_step(StepName.DNS, StepStatus.WARNING), _step(StepName.CONNECT, StepStatus.FAILED))
    checked = report(steps, target=TARGET, checked_at=datetime.now(UTC), round_trip_ms=None)
    assert checked.summary == "The trunk fails at the connect step: connect went failed."


def test_the_report_round_trips_through_json() -> None:
    steps = (_step(StepName.DNS, StepStatus.OK), _step(StepName.OPTIONS, StepStatus.OK))
    checked = report(steps, target=TARGET, checked_at=datetime.now(UTC), round_trip_ms=41.7)
    assert TrunkCheck.model_validate_json(checked.model_dump_json()) == checked
    assert checked.summary == "Every step passed: the carrier answered OPTIONS in 42 ms."


def test_the_target_never_shows_its_password() -> None:
    target = CheckTarget(
        termination_uri="[2001:db8::1]:5061",
        transport=SipTransport.TLS,
        username="alice",
        password=SecretStr("hunter2"),
    )
    assert "hunter2" not in repr(target) and "hunter2" not in target.model_dump_json()
    assert (target.host, target.port, target.has_credentials) == ("2001:db8::1", 5061, True)


@pytest.mark.parametrize(
    ("code", "status"),
    [(200, StepStatus.OK), (407, StepStatus.OK), (302, StepStatus.WARNING), (403, StepStatus.WARNING),
     (404, StepStatus.WARNING), (405, StepStatus.WARNING), (488, StepStatus.WARNING),
     (503, StepStatus.FAILED), (603, StepStatus.FAILED)],
)  # fmt: skip
def test_each_answer_to_options_has_a_status_and_a_fix_unless_ok(
    code: int, status: StepStatus
) -> None:
    outcome = options_answer(code, "Phrase")
    assert outcome.status == status
    assert (outcome.fix is None) == (status == StepStatus.OK)


def test_a_challenge_reads_quoted_commas_and_escapes() -> None:
    challenge = parse_challenge(
        'Digest realm="a \\"quoted\\" realm", qop="auth,auth-int", nonce=abc, stale=FALSE',
        "Proxy-Authorization",
    )
    assert challenge.params == {
        "realm": 'a "quoted" realm',
        "qop": "auth,auth-int",
        "nonce": "abc",
        "stale": "FALSE",
    }
