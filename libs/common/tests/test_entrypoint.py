"""The services' shared command line: settings with a clear error, then the chosen command."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog

from talkifai_common.entrypoint import run_cli
from talkifai_common.settings import InternalTokenSettings, ServiceSettings

pytestmark = pytest.mark.unit


class ExampleSettings(ServiceSettings, InternalTokenSettings):
    """A service with an internal token."""


@pytest.fixture(autouse=True)
def session_logging() -> Iterator[None]:
    """`run_cli` configures logging for the process; the test session gets its own back after."""
    root = logging.getLogger()
    handlers, level, config = list(root.handlers), root.level, structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)
    structlog.contextvars.clear_contextvars()


def test_invalid_settings_exit_with_a_message_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEV_MODE", raising=False)
    monkeypatch.setenv("INTERNAL_API_TOKEN", "secret")
    with pytest.raises(SystemExit) as exited:
        run_cli("example", ExampleSettings, {"serve": lambda _: None}, argv=[])
    assert str(exited.value).startswith("example: invalid configuration: INTERNAL_API_TOKEN")


def test_the_first_command_is_the_default_and_others_are_chosen_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DEV_MODE", "true")
    ran: list[tuple[str, bool]] = []
    commands = {
        "serve": lambda s: ran.append(("serve", s.dev_mode)),
        "migrate": lambda s: ran.append(("migrate", s.dev_mode)),
    }
    run_cli("example", ExampleSettings, commands, argv=[])
    run_cli("example", ExampleSettings, commands, argv=["migrate"])
    assert ran == [("serve", True), ("migrate", True)]
