"""Emulator settings: built once by `main()` or a test and passed down."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEV_API_KEY = "devkey"
DEV_API_SECRET = "secret"
DEFAULT_PORT = 7880
DEFAULT_SIP_PORT = 5060
DEFAULT_SIP_TLS_PORT = 5061


@dataclass(frozen=True)
class EmulatorConfig:
    """How one emulator instance listens, authenticates and notifies."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    api_key: str = DEV_API_KEY
    api_secret: str = DEV_API_SECRET
    webhook_urls: tuple[str, ...] = ()
    # LiveKit closes an empty room after its departure_timeout (20 s by default); the emulator
    # closes it after this many seconds unless the room was created with its own value, so tests
    # see room_finished without waiting.
    departure_timeout_s: float = 0.0
    # The SIP service rings for 30 s when a request leaves ringing_timeout unset.
    default_ringing_timeout_s: float = 30.0
    # Egress writes recordings here: a file output's relative path is relative to this.
    recordings_dir: str = "."
    # Egress's `backup` storage (livekit/egress `BackupConfig`, local): a file whose upload fails
    # is written under this directory instead and the egress completes with
    # `backup_storage_used`; empty: a failed upload fails the egress.
    egress_backup_dir: str = ""
    # What the callee of an outbound call to an unprogrammed number does once it answers (script
    # steps, see people.py); empty: they answer and say nothing.
    default_callee_script: tuple[Mapping[str, Any], ...] = ()
    # The SIP edge (sipedge.py): UDP and TCP on sip_port, TLS on sip_tls_port (0: a free port
    # each; the bound ports are on `Emulator.sip.ports`), the dev certificate unless one is given.
    sip_enabled: bool = True
    sip_host: str = "127.0.0.1"
    sip_port: int = DEFAULT_SIP_PORT
    sip_tls_port: int = DEFAULT_SIP_TLS_PORT
    sip_tls_cert: str = ""
    sip_tls_key: str = ""
    # Outbound trunks whose address is in these networks (besides loopback and localhost) are
    # dialled for real over SIP; every other address plays the programmed outcomes.
    sip_dial_networks: tuple[str, ...] = ()
    # How long an inbound SIP call rings before the 200 OK (LiveKit rings until the agent
    # subscribes to the caller's audio; the emulator answers once the caller is in the room).
    sip_answer_delay_s: float = 0.0
    webhook_max_attempts: int = 4
    webhook_retry_base_s: float = 0.2
    webhook_timeout_s: float = 5.0
    extra_keys: Mapping[str, str] = field(default_factory=dict)

    @property
    def keys(self) -> dict[str, str]:
        """Every API key the emulator accepts, with its secret."""
        return {**self.extra_keys, self.api_key: self.api_secret}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EmulatorConfig:
        """Read `LIVEKIT_EMULATOR_HOST/PORT`, `LIVEKIT_API_KEY/SECRET`, `LIVEKIT_WEBHOOK_URLS`,
        `LIVEKIT_EMULATOR_RECORDINGS_DIR`,
        `LIVEKIT_EMULATOR_EGRESS_BACKUP_DIR`, `LIVEKIT_EMULATOR_SIP` (0/false/off turns the SIP edge off), `LIVEKIT_EMULATOR_SIP_HOST`,
        `_SIP_PORT`, `_SIP_TLS_PORT`, `_SIP_TLS_CERT`, `_SIP_TLS_KEY`, `_SIP_DIAL_NETWORKS`
        (comma separated)."""
        env = os.environ if env is None else env
        urls = tuple(u.strip() for u in env.get("LIVEKIT_WEBHOOK_URLS", "").split(",") if u.strip())
        networks = env.get("LIVEKIT_EMULATOR_SIP_DIAL_NETWORKS", "")
        return cls(
            host=env.get("LIVEKIT_EMULATOR_HOST", "127.0.0.1"),
            port=int(env.get("LIVEKIT_EMULATOR_PORT", str(DEFAULT_PORT))),
            api_key=env.get("LIVEKIT_API_KEY", DEV_API_KEY),
            api_secret=env.get("LIVEKIT_API_SECRET", DEV_API_SECRET),
            webhook_urls=urls,
            recordings_dir=env.get("LIVEKIT_EMULATOR_RECORDINGS_DIR", "."),
            egress_backup_dir=env.get("LIVEKIT_EMULATOR_EGRESS_BACKUP_DIR", ""),
            sip_enabled=env.get("LIVEKIT_EMULATOR_SIP", "1").lower() not in ("0", "false", "off"),
            sip_host=env.get("LIVEKIT_EMULATOR_SIP_HOST", "127.0.0.1"),
            sip_port=int(env.get("LIVEKIT_EMULATOR_SIP_PORT", str(DEFAULT_SIP_PORT))),
            sip_tls_port=int(env.get("LIVEKIT_EMULATOR_SIP_TLS_PORT", str(DEFAULT_SIP_TLS_PORT))),
            sip_tls_cert=env.get("LIVEKIT_EMULATOR_SIP_TLS_CERT", ""),
            sip_tls_key=env.get("LIVEKIT_EMULATOR_SIP_TLS_KEY", ""),
            sip_dial_networks=tuple(n.strip() for n in networks.split(",") if n.strip()),
        )
