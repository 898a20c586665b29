"""`livekit-emulator`: run the emulator as a process (used by `make run`)."""

from __future__ import annotations

import argparse
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn
from pydantic import TypeAdapter, ValidationError

from livekit_emulator import logs
from livekit_emulator.app import create_app
from livekit_emulator.config import EmulatorConfig
from livekit_emulator.control import Script

log = logging.getLogger("livekit_emulator")


def load_script(path: Path) -> tuple[dict[str, Any], ...]:
    """Script steps from a JSON file, validated as the control API validates them."""
    try:
        steps = TypeAdapter(Script).validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise SystemExit(f"livekit-emulator: --callee-script {path}: {exc}") from exc
    return tuple(step.model_dump() for step in steps)


def parse_args(argv: Sequence[str] | None, base: EmulatorConfig) -> tuple[EmulatorConfig, str]:
    """Command-line flags over environment defaults."""
    parser = argparse.ArgumentParser(prog="livekit-emulator", description=__doc__)
    parser.add_argument("--host", default=base.host)
    parser.add_argument("--port", type=int, default=base.port)
    parser.add_argument("--api-key", default=base.api_key)
    parser.add_argument("--api-secret", default=base.api_secret)
    parser.add_argument(
        "--webhook-url",
        action="append",
        default=None,
        help="repeatable; replaces LIVEKIT_WEBHOOK_URLS",
    )
    parser.add_argument("--departure-timeout", type=float, default=base.departure_timeout_s)
    parser.add_argument(
        "--callee-script",
        type=Path,
        default=None,
        help="a JSON file of script steps: what callees of unprogrammed numbers do once they answer",
    )
    parser.add_argument(
        "--recordings-dir",
        default=base.recordings_dir,
        help="where egress writes recordings (relative file outputs land here)",
    )
    parser.add_argument(
        "--egress-backup-dir",
        default=base.egress_backup_dir,
        help="egress's backup storage: files whose upload fails are written here instead",
    )
    parser.add_argument(
        "--no-sip", action="store_true", help="do not start the SIP edge (UDP/TCP/TLS listeners)"
    )
    parser.add_argument("--sip-host", default=base.sip_host, help="the SIP edge's address")
    parser.add_argument(
        "--sip-port", type=int, default=base.sip_port, help="SIP over UDP and TCP (0: a free port)"
    )
    parser.add_argument(
        "--sip-tls-port", type=int, default=base.sip_tls_port, help="SIP over TLS (0: a free port)"
    )
    parser.add_argument("--sip-tls-cert", default=base.sip_tls_cert, help="PEM certificate")
    parser.add_argument("--sip-tls-key", default=base.sip_tls_key, help="PEM private key")
    parser.add_argument(
        "--sip-dial-network",
        action="append",
        default=None,
        help="repeatable CIDR: outbound trunks there are dialled for real (loopback always is)",
    )
    parser.add_argument(
        "--sip-answer-delay-ms",
        type=int,
        default=round(base.sip_answer_delay_s * 1000),
        help="how long inbound SIP calls ring before the 200 OK",
    )
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    config = replace(
        base,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        api_secret=args.api_secret,
        webhook_urls=tuple(args.webhook_url) if args.webhook_url else base.webhook_urls,
        departure_timeout_s=args.departure_timeout,
        recordings_dir=args.recordings_dir,
        egress_backup_dir=args.egress_backup_dir,
        default_callee_script=load_script(args.callee_script) if args.callee_script else (),
        sip_enabled=base.sip_enabled and not args.no_sip,
        sip_host=args.sip_host,
        sip_port=args.sip_port,
        sip_tls_port=args.sip_tls_port,
        sip_tls_cert=args.sip_tls_cert,
        sip_tls_key=args.sip_tls_key,
        sip_dial_networks=(
            tuple(args.sip_dial_network) if args.sip_dial_network else base.sip_dial_networks
        ),
        sip_answer_delay_s=args.sip_answer_delay_ms / 1000,
    )
    return config, args.log_level


def main(argv: Sequence[str] | None = None) -> None:
    """Serve until SIGINT/SIGTERM, then drain queued webhooks and exit."""
    config, level = parse_args(argv, EmulatorConfig.from_env())
    logs.configure(level)
    log.info(
        "livekit emulator starting",
        extra={
            "host": config.host,
            "port": config.port,
            "api_key": config.api_key,
            "webhook_urls": list(config.webhook_urls),
        },
    )
    server = uvicorn.Server(uvicorn.Config(create_app(config), log_config=None, lifespan="on"))
    server.run(sockets=[bind(config.host, config.port)])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket whose connections have Nagle's algorithm off.

    Without TCP_NODELAY a response written in two parts waits for the client's delayed ACK,
    which adds about 40 ms to every call with a request body; accepted sockets inherit the flag.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


if __name__ == "__main__":
    main()
