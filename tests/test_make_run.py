"""`make run` tells a newcomer where everything it started listens."""

from __future__ import annotations

import pytest
from honcho.environ import parse_procfile

from tools.dev.run import ROOT, banner, environment

# Banner names of the Procfile's processes that are not named after themselves.
SHOWN_AS = {"nats": "NATS", "livekit": "LiveKit", "studio": "Studio"}


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """`make run`'s environment when nothing is configured: every server local, default ports."""
    for name in ("DATABASE_URL", "NATS_URL", "LIVEKIT_URL", "AUTH_JWT_SECRET", "PUBLIC_API_URL"):
        monkeypatch.delenv(name, raising=False)
    return environment()


def test_the_banner_names_every_process_and_every_port_it_listens_on(
    local_env: dict[str, str],
) -> None:
    text = banner(local_env)
    for process in parse_procfile((ROOT / "Procfile").read_text()).processes:
        assert SHOWN_AS.get(process, process) in text, process
    ports = {name: value for name, value in local_env.items() if name.endswith("_PORT")}
    assert {"CALL_ORCHESTRATOR_PORT", "TRUNK_SYNC_PORT", "AGENT_RUNTIME_PORT"} <= set(ports)
    for name, value in ports.items():
        assert f"127.0.0.1:{value}" in text, name


def test_the_banner_points_at_both_apis_documentation(local_env: dict[str, str]) -> None:
    lines = banner(local_env).splitlines()
    for service in ("numbers-api", "call-orchestrator"):
        line = next(line for line in lines if line.strip().startswith(service))
        assert "/docs" in line and "/redoc" in line, line


def test_reports_link_recordings_through_the_studio_origin_that_proxies_the_api(
    local_env: dict[str, str],
) -> None:
    routes = (ROOT / "services/studio/server/server.mjs").read_text()
    assert '{ prefix: "/calls", upstream: calls' in routes
    assert local_env["PUBLIC_API_URL"] == f"http://127.0.0.1:{local_env['STUDIO_PORT']}"
