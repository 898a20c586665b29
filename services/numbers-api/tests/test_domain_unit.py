"""numbers-api's rules without a server: bodies, typed changes, status, cursors, errors, caps.

No database, bus or HTTP server: each test runs the service's own code on plain values. The
end-to-end tier (`test_phone_numbers.py`, `test_agents.py`...) checks the same rules through HTTP.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from numbers_api.adapters.postgres import decode_cursor, encode_cursor, new_number_row
from numbers_api.adapters.postgres import number_from_row as public_number
from numbers_api.adapters.postgres.rows import escape_like
from numbers_api.consumers import LiveEvent, LiveEvents
from numbers_api.domain import (
    AT_LEAST_ONE_AGENT,
    PhoneNumberChanges,
    check_assignment,
    check_termination_host,
    check_voice_capable,
    number_status,
    parse_termination_uri,
)
from numbers_api.errors import (
    TEXT_AGENT_REFUSED,
    AgentInUse,
    AgentNotFound,
    AlreadyRegistered,
    PhoneNumberNotFound,
    TextAgentRefused,
)
from numbers_api.handlers.agents import _check_model_servers, _resolve_agent
from numbers_api.handlers.internal import _credentials
from numbers_api.handlers.phone_numbers import _changes
from numbers_api.schemas import (
    AgentAssignment,
    AgentCreate,
    AgentUpdate,
    PhoneNumberCreate,
    PhoneNumberUpdate,
)
from numbers_api.stream_slots import StreamSlots
from talkifai_common.crypto import SecretBox, generate_key
from talkifai_common.destinations import DestinationRefused
from talkifai_common.errors import (
    Conflict,
    FieldError,
    NotFound,
    TalkifaiError,
    TooManyRequests,
    ValidationFailed,
)
from talkifai_common.events import (
    AgentData,
    MediaEncryption,
    NumberStatus,
    RecordingMode,
    SipTransport,
    SyncState,
)
from talkifai_common.voice import (
    DEFAULT_GREETING,
    DEFAULT_INSTRUCTIONS,
    DEFAULT_LANGUAGE,
    Architecture,
    LLMConfig,
    LLMProvider,
    RealtimeConfig,
    STTConfig,
    TTSConfig,
)

pytestmark = pytest.mark.unit

E164 = "+12025550123"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
# The number in full-width digits: digits to str.isdigit, but not ASCII digits.
FULL_WIDTH = "+" + "".join(chr(0xFF10 + int(d)) for d in E164[1:])


@pytest.fixture
def box() -> SecretBox:
    """The SIP password box, with a fresh key."""
    return SecretBox([generate_key()])


def _refusal(model: type[BaseModel], body: dict[str, Any]) -> tuple[str, str]:
    """The one field `body` breaks and the message the caller reads."""
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    [error] = refused.value.errors()
    return ".".join(str(part) for part in error["loc"]), error["msg"]


def _create_changes(
    box: SecretBox, *, allow_private: bool = False, **fields: Any
) -> PhoneNumberChanges:
    body = PhoneNumberCreate.model_validate({"phone_number": E164, **fields})
    return _changes(body, box, allow_private, allow_private)


def _update_changes(
    box: SecretBox, fields: dict[str, Any], *, allow_private: bool = False
) -> PhoneNumberChanges:
    return _changes(PhoneNumberUpdate.model_validate(fields), box, allow_private, allow_private)


# Phone numbers in E.164


@pytest.mark.parametrize(
    "raw",
    [
        "+1 (202) 555-0123",
        "+1-202-555-0123",
        "+1.202.555.0123",
        "  +12025550123 ",
        "+1/202/5550123",
    ],
)
@pytest.mark.parametrize("model", [PhoneNumberCreate, PhoneNumberUpdate, AgentAssignment])
def test_the_ways_people_write_a_number_are_read_as_e164(model: type[BaseModel], raw: str) -> None:
    assert model.model_validate({"phone_number": raw}).model_dump()["phone_number"] == E164


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("12025550123", "start with +"),
        ("+123456789", "at least 10 digits"),
        ("+1234567890123456", "at most 15 digits"),
        ("+0234567890", "digit from 1 to 9"),
        ("+1202555abcd", "only digits"),
        (FULL_WIDTH, "only digits"),
        ("+9991234567890", "country calling code"),
        ("   ", "required"),
    ],
)
def test_a_number_breaking_a_rule_is_refused_naming_the_field_and_the_rule(
    raw: str, rule: str
) -> None:
    field, message = _refusal(PhoneNumberCreate, {"phone_number": raw})
    assert field == "phone_number"
    assert rule in message


@pytest.mark.parametrize("model", [PhoneNumberCreate, AgentAssignment])
def test_registering_or_assigning_needs_a_number(model: type[BaseModel]) -> None:
    assert _refusal(model, {}) == ("phone_number", "Field required")


# Termination URI


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("your-trunk.pstn.twilio.com", "your-trunk.pstn.twilio.com"),
        ("  Your-Trunk.PSTN.twilio.com:5061 ", "your-trunk.pstn.twilio.com:5061"),
        ("sip:sip.telnyx.com", "sip.telnyx.com"),
        ("SIPS:sip.telnyx.com:05061", "sip.telnyx.com:5061"),
        ("54.172.60.0", "54.172.60.0"),
        ("[2606:4700::1111]:5061", "[2606:4700::1111]:5061"),
        ("[2606:4700::1111]", "[2606:4700::1111]"),
    ],
)
def test_a_termination_uri_is_stored_as_the_bare_host_and_port_livekit_wants(
    raw: str, stored: str
) -> None:
    assert parse_termination_uri(raw) == stored


@pytest.mark.parametrize(
    ("raw", "rule"),
    [
        ("sip:", "must name a SIP host"),
        ("   ", "must name a SIP host"),
        ("sip:user@trunk.example.com", "no user, parameters or path"),
        ("trunk.example.com;transport=tls", "no user, parameters or path"),
        ("https://trunk.example.com/path", "no user, parameters or path"),
        ("trunk example.com", "no user, parameters or path"),
        ("trunk.example.com:0", "port must be a number from 1 to 65535"),
        ("trunk.example.com:65536", "port must be a number from 1 to 65535"),
        ("trunk.example.com:", "port must be a number from 1 to 65535"),
        ("trunk.example.com:sip", "port must be a number from 1 to 65535"),
        ("[2606:4700::1111", "unclosed IPv6 bracket"),
        ("[2606:4700::1111]5061", "must be a SIP host"),
        ("2606:4700::1111", "IPv6 address in brackets"),
        ("sip:2606:4700::1111:5060", "IPv6 address in brackets"),
        ("-bad-.example.com", "valid hostname or IP address"),
        ("127.1", "valid hostname or IP address"),  # what resolvers read as an address
    ],
)
def test_a_termination_uri_that_is_not_a_sip_host_is_refused_with_the_rule(
    raw: str, rule: str
) -> None:
    with pytest.raises(ValueError, match=rule):
        parse_termination_uri(raw)


def test_a_refused_termination_uri_names_its_field() -> None:
    body = {"phone_number": E164, "termination_uri": "sip:user@trunk.example.com"}
    field, message = _refusal(PhoneNumberCreate, body)
    assert field == "termination_uri"
    assert "Termination URI" in message


def test_a_port_of_superscript_digits_is_refused_with_the_port_rule() -> None:
    with pytest.raises(ValueError, match="port must be a number from 1 to 65535"):
        parse_termination_uri("trunk.example.com:²")


@pytest.mark.parametrize(
    ("host_port", "rule"),
    [
        ("127.0.0.1:5060", "globally routable"),
        ("10.0.0.1", "globally routable"),
        ("[::1]:5061", "globally routable"),
        ("localhost:5060", "loopback"),
        ("pbx.localhost", "loopback"),
    ],
)
def test_a_termination_host_that_is_not_public_is_refused_unless_private_hosts_are_allowed(
    host_port: str, rule: str
) -> None:
    with pytest.raises(DestinationRefused, match=f"Termination URI.*{rule}"):
        check_termination_host(host_port, allow_private=False)
    check_termination_host(host_port, allow_private=True)


def test_a_termination_host_name_is_not_resolved_when_saved() -> None:
    # trunk-sync resolves and checks names before it writes the trunk; a save never waits on DNS.
    check_termination_host("trunk.internal.invalid:5061", allow_private=False)
    check_termination_host("54.172.60.0:5060", allow_private=False)


# Other phone number fields


@pytest.mark.parametrize("username", ["with space", "user:name", "user@host", ""])
def test_a_sip_username_with_a_separator_or_nothing_in_it_is_refused(username: str) -> None:
    field, _ = _refusal(PhoneNumberUpdate, {"sip_username": username})
    assert field == "sip_username"


def test_a_sip_password_never_shows_in_the_body_it_came_in() -> None:
    body = PhoneNumberCreate.model_validate({"phone_number": E164, "sip_password": "s3cret-pass"})
    assert "s3cret-pass" not in repr(body)
    assert "s3cret-pass" not in body.model_dump_json()


def test_a_field_the_body_does_not_know_is_refused_by_name() -> None:
    assert _refusal(PhoneNumberUpdate, {"colour": "blue"}) == (
        "colour",
        "Extra inputs are not permitted",
    )


def test_a_new_number_records_nothing_uses_tls_and_requires_media_encryption(
    box: SecretBox,
) -> None:
    columns = _create_changes(box).columns()
    assert (columns["recording_mode"], columns["sip_transport"], columns["media_encryption"]) == (
        RecordingMode.DISABLED,
        SipTransport.TLS,
        MediaEncryption.REQUIRE,
    )


# The changes a body asks for


def test_a_create_writes_every_field_with_its_default_and_encrypts_the_password(
    box: SecretBox,
) -> None:
    changes = _create_changes(box, sip_username="talkifai", sip_password="s3cret-pass")
    columns = changes.columns()
    ciphertext = columns.pop("sip_password_ciphertext")
    assert columns == {
        "phone_number": E164,
        "termination_uri": None,
        "sip_username": "talkifai",
        "webhook_url": None,
        "recording_mode": RecordingMode.DISABLED,
        "sip_transport": SipTransport.TLS,
        "media_encryption": MediaEncryption.REQUIRE,
        "carrier": "custom",
        "inbound_allowed_addresses": None,
        "inbound_auth_username": None,
        "inbound_auth_password_ciphertext": None,
        "inbound_allow_any_source": False,
        "number_format": None,
        "sip_headers": None,
    }
    assert isinstance(ciphertext, str) and "s3cret-pass" not in ciphertext
    assert box.decrypt(ciphertext) == "s3cret-pass"


def test_an_update_writes_only_the_fields_it_gives(box: SecretBox) -> None:
    changes = _update_changes(box, {"recording_mode": "consent"})
    assert changes.columns() == {"recording_mode": RecordingMode.CONSENT}
    assert _update_changes(box, {}).columns() == {}


def test_null_in_an_update_clears_the_password_and_the_webhook(box: SecretBox) -> None:
    changes = _update_changes(box, {"sip_password": None, "webhook_url": None})
    assert changes.columns() == {"sip_password_ciphertext": None, "webhook_url": None}


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("phone_number", "Phone number may not be null"),
        ("recording_mode", "Field may not be null"),
        ("sip_transport", "Field may not be null"),
        ("media_encryption", "Field may not be null"),
    ],
)
def test_null_for_a_field_a_number_cannot_be_without_is_refused_by_name(
    box: SecretBox, field: str, message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _update_changes(box, {field: None})
    assert refused.value.errors == [FieldError(field, message)]


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://10.0.0.1/hook", "globally routable"),
        ("http://localhost:8080/hook", "loopback"),
        ("gopher://example.com/", "http or https"),
        ("https://user:secret@example.com/hook", "credentials"),
    ],
)
def test_a_webhook_that_must_not_or_cannot_be_delivered_is_refused_naming_the_field(
    box: SecretBox, url: str, rule: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _update_changes(box, {"webhook_url": url})
    [error] = refused.value.errors
    assert error.field == "webhook_url"
    assert rule in error.message
    assert "secret" not in error.message


def test_a_private_webhook_host_is_accepted_where_private_hosts_are_allowed(
    box: SecretBox,
) -> None:
    changes = _update_changes(box, {"webhook_url": " http://10.0.0.1/hook "}, allow_private=True)
    assert changes.columns() == {"webhook_url": "http://10.0.0.1/hook"}


def test_a_private_termination_host_is_refused_naming_the_field_unless_allowed(
    box: SecretBox,
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _create_changes(box, termination_uri="sip:10.0.0.1:5060")
    [error] = refused.value.errors
    assert error.field == "termination_uri"
    allowed = _create_changes(box, allow_private=True, termination_uri="sip:10.0.0.1:5060")
    assert allowed.termination_uri == "10.0.0.1:5060"


def test_typed_changes_list_their_columns_in_declared_order_whatever_order_they_were_given() -> (
    None
):
    # One set of fields is always the same statement text, so it is prepared once.
    one = PhoneNumberChanges(media_encryption=MediaEncryption.ALLOW, phone_number=E164)
    other = PhoneNumberChanges.model_validate(
        {"phone_number": E164, "media_encryption": MediaEncryption.ALLOW}
    )
    assert list(one.columns()) == list(other.columns()) == ["phone_number", "media_encryption"]


def test_typed_changes_cannot_be_altered_once_made() -> None:
    changes = PhoneNumberChanges(phone_number=E164)
    with pytest.raises(ValidationError):
        changes.phone_number = "+12025550124"  # type: ignore[misc]


# A new number's row


def test_a_new_number_is_version_one_pending_sync_and_inactive(box: SecretBox) -> None:
    changes = _create_changes(box, termination_uri="trunk.example.com", sip_password="pw")
    row = new_number_row("org_a", "pn_1", changes, NOW)
    number = public_number(row)
    assert (number.id, number.phone_number, number.version) == ("pn_1", E164, 1)
    assert number.sync.state is SyncState.PENDING
    assert number.status is NumberStatus.INACTIVE  # no agent yet
    assert (number.inbound_agent, number.outbound_agent) == (None, None)
    assert number.has_sip_password
    assert number.created_at == number.updated_at == NOW
    assert row["sip_password_ciphertext"] not in number.model_dump_json()


def test_a_new_number_cannot_be_written_with_agents() -> None:
    changes = PhoneNumberChanges(phone_number=E164, inbound_agent_id="agent_1")
    with pytest.raises(ValueError, match="inbound_agent_id"):
        new_number_row("org_a", "pn_1", changes, NOW)


def test_trunk_credentials_carry_the_decrypted_password_or_none(box: SecretBox) -> None:
    changes = _create_changes(box, termination_uri="trunk.example.com", sip_password="pw")
    with_password = _credentials(new_number_row("org_a", "pn_1", changes, NOW), box)
    without = _credentials(new_number_row("org_a", "pn_2", _create_changes(box), NOW), box)
    assert with_password.sip_password is not None
    assert with_password.sip_password.get_secret_value() == "pw"
    assert (with_password.org_id, with_password.termination_uri) == ("org_a", "trunk.example.com")
    assert without.sip_password is None


# Status


@pytest.mark.parametrize(
    ("uri", "inbound", "outbound", "username", "password", "status"),
    [
        ("trunk.example.com", "agent_in", None, None, False, NumberStatus.ACTIVE),
        ("trunk.example.com", None, "agent_out", "user", True, NumberStatus.ACTIVE),
        ("trunk.example.com", "agent_in", "agent_out", "user", True, NumberStatus.ACTIVE),
        (None, "agent_in", "agent_out", "user", True, NumberStatus.INACTIVE),
        ("trunk.example.com", None, None, "user", True, NumberStatus.INACTIVE),
        ("trunk.example.com", None, "agent_out", "user", False, NumberStatus.INACTIVE),
        ("trunk.example.com", None, "agent_out", None, True, NumberStatus.INACTIVE),
        ("trunk.example.com", "agent_in", "agent_out", None, False, NumberStatus.INACTIVE),
    ],
)
def test_a_number_is_active_once_it_has_a_uri_an_agent_and_credentials_for_outbound(
    uri: str | None,
    inbound: str | None,
    outbound: str | None,
    username: str | None,
    password: bool,
    status: NumberStatus,
) -> None:
    assert (
        number_status(
            termination_uri=uri,
            inbound_agent_id=inbound,
            outbound_agent_id=outbound,
            sip_username=username,
            has_sip_password=password,
        )
        is status
    )


# Assignments


@pytest.mark.parametrize(("inbound", "outbound"), [(None, None), ("", ""), ("", None)])
def test_an_assignment_without_any_agent_is_refused_naming_both_sides(
    inbound: str | None, outbound: str | None
) -> None:
    with pytest.raises(ValidationFailed, match=AT_LEAST_ONE_AGENT) as refused:
        check_assignment(inbound, outbound)
    assert [e.field for e in refused.value.errors] == ["inbound_agent_id", "outbound_agent_id"]


@pytest.mark.parametrize(("inbound", "outbound"), [("agent_1", None), (None, "agent_2")])
def test_one_agent_on_either_side_is_an_assignment(
    inbound: str | None, outbound: str | None
) -> None:
    check_assignment(inbound, outbound)


def test_a_text_agent_is_refused_on_the_side_it_was_put_on() -> None:
    with pytest.raises(TextAgentRefused) as refused:
        check_voice_capable("outbound_agent_id", Architecture.TEXT)
    assert refused.value.errors == [FieldError("outbound_agent_id", TEXT_AGENT_REFUSED)]
    check_voice_capable("inbound_agent_id", Architecture.PIPELINE)
    check_voice_capable("inbound_agent_id", Architecture.REALTIME)


def test_an_agent_id_longer_than_an_id_can_be_is_refused() -> None:
    field, _ = _refusal(AgentAssignment, {"phone_number": E164, "inbound_agent_id": "a" * 65})
    assert field == "inbound_agent_id"


# Agent bodies


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"architecture": "pipeline"}, "name"),
        ({"name": "A"}, "architecture"),
        ({"name": "A", "architecture": "telepathy"}, "architecture"),
        ({"name": "   ", "architecture": "pipeline"}, "name"),
        ({"name": "A" * 101, "architecture": "pipeline"}, "name"),
        ({"name": "A", "architecture": "pipeline", "language": "english!"}, "language"),
        ({"name": "A", "architecture": "pipeline", "tts": {"provider": "acme"}}, "tts.provider"),
        ({"name": "A", "architecture": "pipeline", "llm": {"temperature": 2.5}}, "llm.temperature"),
        (
            {"name": "A", "architecture": "pipeline", "llm": {"temperature": "0.5"}},
            "llm.temperature",
        ),
        (
            {"name": "A", "architecture": "pipeline", "llm": {"temperature": True}},
            "llm.temperature",
        ),
        ({"name": "A", "architecture": "pipeline", "instructions": ""}, "instructions"),
        ({"name": "A", "architecture": "pipeline", "colour": "blue"}, "colour"),
    ],
)
def test_an_agent_body_breaking_a_rule_is_refused_naming_the_field(
    body: dict[str, Any], field: str
) -> None:
    assert _refusal(AgentCreate, body)[0] == field


def test_an_agent_name_is_trimmed_and_an_integer_temperature_is_a_temperature() -> None:
    body = AgentCreate.model_validate(
        {"name": "  Sales  ", "architecture": "pipeline", "llm": {"temperature": 1}}
    )
    assert body.name == "Sales"
    assert body.llm == LLMConfig(temperature=1.0)


# Agents: defaults, merges and architectures


def _agent(architecture: str, **fields: Any) -> AgentData:
    body = AgentCreate.model_validate({"name": "Sales", "architecture": architecture, **fields})
    return _resolve_agent("agent_1", body, None, NOW)


def _updated(existing: AgentData, fields: dict[str, Any]) -> AgentData:
    return _resolve_agent(
        "agent_1", AgentUpdate.model_validate(fields), existing, NOW + timedelta(1)
    )


def test_a_private_model_server_passes_where_the_deployment_allows_it_and_only_there() -> None:
    agent = _agent("pipeline", stt={"provider": "openai", "base_url": "http://10.0.0.5:8000/v1"})
    _check_model_servers(agent, allow_private=True)
    with pytest.raises(ValidationFailed) as refused:
        _check_model_servers(agent, allow_private=False)
    [error] = refused.value.errors
    assert error.field == "stt.base_url"
    assert "globally routable" in error.message


def test_a_model_server_is_kept_through_an_update_that_does_not_touch_its_section() -> None:
    agent = _agent("pipeline", llm={"provider": "openai", "base_url": "https://m.example.com/v1"})
    updated = _updated(agent, {"greeting": "Hi"})
    assert updated.llm is not None and updated.llm.base_url == "https://m.example.com/v1"


@pytest.mark.parametrize(
    ("architecture", "sections"),
    [
        ("pipeline", {"stt": STTConfig(), "llm": LLMConfig(), "tts": TTSConfig()}),
        ("realtime", {"realtime": RealtimeConfig()}),
        ("text", {"llm": LLMConfig()}),
    ],
)
def test_a_new_agent_gets_the_default_sections_of_its_architecture_only(
    architecture: str, sections: dict[str, object]
) -> None:
    agent = _agent(architecture)
    held = {k: getattr(agent, k) for k in ("stt", "llm", "tts", "realtime") if getattr(agent, k)}
    assert held == sections
    assert (agent.instructions, agent.greeting, agent.language) == (
        DEFAULT_INSTRUCTIONS,
        DEFAULT_GREETING,
        DEFAULT_LANGUAGE,
    )
    assert (agent.version, agent.created_at, agent.updated_at) == (1, NOW, NOW)


@pytest.mark.parametrize(
    ("architecture", "section"),
    [("realtime", "tts"), ("realtime", "llm"), ("text", "stt"), ("pipeline", "realtime")],
)
def test_a_section_another_architecture_uses_is_refused_naming_it(
    architecture: str, section: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _agent(architecture, **{section: {}})
    assert refused.value.errors == [
        FieldError(section, f"{architecture} agents have no {section} configuration")
    ]


def test_a_section_the_architecture_does_not_use_may_be_sent_as_null() -> None:
    assert _agent("text", stt=None, realtime=None).stt is None


@pytest.mark.parametrize("field", ["name", "architecture"])
def test_an_update_cannot_null_the_name_or_the_architecture(field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _updated(_agent("pipeline"), {field: None})
    assert refused.value.errors == [FieldError(field, "Field may not be null")]


def test_an_update_keeps_what_it_leaves_out_and_moves_only_updated_at() -> None:
    existing = _agent("pipeline", greeting="Hi!", llm={"provider": "google", "temperature": 0.2})
    updated = _updated(existing, {"name": "Support"})
    assert updated.name == "Support"
    assert updated.model_dump(exclude={"name", "updated_at"}) == existing.model_dump(
        exclude={"name", "updated_at"}
    )
    assert updated.updated_at == NOW + timedelta(1)


def test_an_updated_section_replaces_the_stored_one_whole() -> None:
    existing = _agent("pipeline", llm={"provider": "google", "temperature": 0.2})
    updated = _updated(existing, {"llm": {"model": "gpt-4.1"}})
    assert updated.llm == LLMConfig(provider=LLMProvider.OPENAI, model="gpt-4.1")


def test_switching_architecture_drops_the_old_sections_and_fills_the_new_ones() -> None:
    pipeline = _agent("pipeline", llm={"provider": "google"})
    realtime = _updated(pipeline, {"architecture": "realtime"})
    assert (realtime.stt, realtime.llm, realtime.tts) == (None, None, None)
    assert realtime.realtime == RealtimeConfig()
    back = _updated(realtime, {"architecture": "pipeline"})
    assert back.llm == LLMConfig()  # the old pipeline's choice went with the switch
    assert back.realtime is None


def test_a_pipeline_agent_made_text_only_keeps_its_language_model() -> None:
    pipeline = _agent("pipeline", llm={"provider": "google", "temperature": 0.2})
    text = _updated(pipeline, {"architecture": "text"})
    assert text.llm == pipeline.llm
    assert (text.stt, text.tts) == (None, None)


# Errors


@pytest.mark.parametrize(
    ("error", "kind", "status", "message"),
    [
        (TextAgentRefused("inbound_agent_id"), ValidationFailed, 422, TEXT_AGENT_REFUSED),
        (AgentNotFound("agent_1"), NotFound, 404, "Agent agent_1 not found"),
        (PhoneNumberNotFound(E164), NotFound, 404, f"Phone number {E164} not found"),
        (AlreadyRegistered(E164), Conflict, 409, f"Phone number {E164} is already registered"),
        (AgentInUse("unassign it first", ["+1"]), Conflict, 409, "unassign it first"),
    ],
)
def test_each_error_is_a_kind_the_http_edge_answers_with_its_status_and_message(
    error: TalkifaiError, kind: type[TalkifaiError], status: int, message: str
) -> None:
    assert isinstance(error, kind)
    assert error.status_code == status
    assert message in error.detail
    assert error.detail == str(error)
    assert error.retryable is False  # the same request gets the same answer


def test_an_agent_in_use_names_the_numbers_in_order_and_what_to_do() -> None:
    error = AgentInUse("unassign it before deleting it", {"+12025550124", "+12025550123"})
    assert error.numbers == ["+12025550123", "+12025550124"]
    assert error.detail == (
        "Agent is assigned to phone numbers +12025550123, +12025550124; "
        "unassign it before deleting it"
    )


# Cursors


@pytest.mark.parametrize("key", [E164, "2026-01-01T00:00:00+00:00|agent_1", "pn_é|x", ""])
def test_a_cursor_reads_back_as_the_key_it_was_made_from(key: str) -> None:
    cursor = encode_cursor(key)
    assert decode_cursor(cursor) == key
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor  # URL-safe as it is


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "KzEyMDI1NTUwMTIz",  # base64 of a key without our prefix
        "YzE6_w",  # our prefix, then bytes that are not UTF-8
    ],
)
def test_a_cursor_we_did_not_make_is_refused(cursor: str) -> None:
    with pytest.raises(ValueError, match="malformed cursor"):
        decode_cursor(cursor)


def test_search_text_matches_like_wildcards_literally() -> None:
    assert escape_like(r"50%_off\now") == r"50\%\_off\\now"


# Event stream caps


def test_a_token_holds_no_more_streams_than_its_cap() -> None:
    slots = StreamSlots(per_token=2, per_org=10)
    with slots.hold("token-a", "org_a"), slots.hold("token-a", "org_a"):
        with (
            pytest.raises(TooManyRequests, match="This token already has 2 open event streams"),
            slots.hold("token-a", "org_a"),
        ):
            pass
        with slots.hold("token-b", "org_a"):
            assert slots.open_streams("org_a") == 3


def test_an_organization_holds_no_more_streams_than_its_cap_whatever_the_tokens() -> None:
    slots = StreamSlots(per_token=5, per_org=2)
    with slots.hold("token-a", "org_a"), slots.hold("token-b", "org_a"):
        with (
            pytest.raises(TooManyRequests, match="Your organization already has 2"),
            slots.hold("token-c", "org_a"),
        ):
            pass
        with slots.hold("token-c", "org_b"):
            assert slots.open_streams("org_b") == 1


def test_a_closed_stream_frees_its_slot_even_when_it_ended_in_an_error() -> None:
    slots = StreamSlots(per_token=1, per_org=1)
    with pytest.raises(RuntimeError), slots.hold("token-a", "org_a"):
        raise RuntimeError("client went away")
    assert slots.open_streams("org_a") == 0
    with slots.hold("token-a", "org_a"):
        assert slots.open_streams("org_a") == 1


def test_one_stream_too_many_is_a_429_worth_retrying_once_one_closes() -> None:
    slots = StreamSlots(per_token=1, per_org=1)
    with (
        slots.hold("token-a", "org_a"),
        pytest.raises(TooManyRequests) as refused,
        slots.hold("token-a", "org_a"),
    ):
        pass
    assert (refused.value.status_code, refused.value.retryable) == (429, True)


# The live feed behind GET /events


def _payload(event_id: str, org_id: str) -> bytes:
    return json.dumps({"id": event_id, "orgid": org_id, "data": {}}).encode()


def test_the_live_feed_reaches_only_the_clients_of_the_events_organization() -> None:
    live = LiveEvents()
    with live.connect("org_a") as mine, live.connect("org_b") as theirs:
        live.deliver("telephony.phone_number.updated", _payload("ev_1", "org_a"))
        assert mine.get_nowait() == LiveEvent(
            id="ev_1",
            subject="telephony.phone_number.updated",
            data=_payload("ev_1", "org_a").decode(),
        )
        assert theirs.empty()


@pytest.mark.parametrize(
    "subject", ["telephony.call.usage", "telephony.call.transcript", "other.agent.created"]
)
def test_the_live_feed_leaves_out_usage_transcripts_and_other_events(subject: str) -> None:
    live = LiveEvents()
    with live.connect("org_a") as queue:
        live.deliver(subject, _payload("ev_1", "org_a"))
        assert queue.empty()


@pytest.mark.parametrize(
    "subject",
    [
        "telephony.call.answered",
        "telephony.call.failed",
        "telephony.call.costed",
        "telephony.campaign.started",
        "telephony.campaign.completed",
    ],
)
def test_the_live_feed_carries_calls_state_changes_costs_and_campaigns(subject: str) -> None:
    live = LiveEvents()
    with live.connect("org_a") as queue:
        live.deliver(subject, _payload("ev_1", "org_a"))
        event = queue.get_nowait()
        assert event is not None and event.subject == subject


@pytest.mark.parametrize("payload", [b"not json", b"{}", b'{"id": "ev_1"}', b"[1]"])
def test_a_malformed_event_is_left_out_of_the_live_feed(payload: bytes) -> None:
    live = LiveEvents()
    with live.connect("org_a") as queue:
        live.deliver("telephony.agent.created", payload)
        assert queue.empty()


def test_closing_the_live_feed_tells_every_client_to_disconnect() -> None:
    live = LiveEvents()
    with live.connect("org_a") as first, live.connect("org_b") as second:
        live.close_all()
        assert (first.get_nowait(), second.get_nowait()) == (None, None)
        live.deliver("telephony.agent.created", _payload("ev_1", "org_a"))
        assert first.empty()


def test_a_client_too_slow_for_the_live_feed_is_told_to_reconnect() -> None:
    live = LiveEvents()
    with live.connect("org_a") as queue:
        for n in range(queue.maxsize + 1):
            live.deliver("telephony.agent.updated", _payload(f"ev_{n}", "org_a"))
        drained = [queue.get_nowait() for _ in range(queue.qsize())]
        assert None in drained


def test_a_shutdown_reaches_a_client_whose_queue_is_full() -> None:
    live = LiveEvents()
    with live.connect("org_a") as queue:
        for n in range(queue.maxsize):
            live.deliver("telephony.agent.updated", _payload(f"ev_{n}", "org_a"))
        assert queue.full()
        live.close_all()
        assert queue.get_nowait() is None
