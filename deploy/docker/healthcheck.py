#!/usr/bin/env python3
"""Container health probe, standard library only (the slim images have no curl).

    healthcheck http PORT_ENV DEFAULT_PORT PATH   GET http://127.0.0.1:<port><PATH>, healthy on 2xx
    healthcheck tcp  PORT_ENV DEFAULT_PORT        healthy when 127.0.0.1:<port> accepts a connection

The port is read from the environment variable PORT_ENV (the one the service itself reads), so
overriding a service's port keeps its health check right.
"""

import os
import socket
import sys
import urllib.request


def main(argv: list[str]) -> int:
    """Exit 0 when healthy, 1 otherwise (Docker's HEALTHCHECK contract)."""
    if len(argv) < 3 or argv[0] not in {"http", "tcp"}:
        print(__doc__, file=sys.stderr)
        return 1
    mode, port_env, default_port = argv[0], argv[1], argv[2]
    port = int(os.environ.get(port_env) or default_port)
    try:
        if mode == "tcp":
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return 0
        path = argv[3] if len(argv) > 3 else "/healthz"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as response:
            return 0 if 200 <= response.status < 300 else 1
    except OSError as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
