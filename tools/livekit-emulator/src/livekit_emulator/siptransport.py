"""SIP over UDP, TCP and TLS (RFC 3261 §18): listeners, stream framing, sending.

Every message read, on a listener or on a connection the emulator opened, goes to one handler
with the peer it came from; responses and in-dialog requests go back the same way (UDP from the
listening socket, so the far end's answers come back to it; TCP/TLS on the same connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sipmessage import Message, Request, Response

log = logging.getLogger("livekit_emulator.sip")

MAX_MESSAGE = 65_535


@dataclass(eq=False)
class Peer:
    """Where a message came from and where its answers go."""

    transport: str  # "UDP", "TCP" or "TLS" (as Via writes it)
    host: str
    port: int
    writer: asyncio.StreamWriter | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        """host:port ([v6]:port)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


Handler = Callable[[Request | Response, Peer], None]


def encode(message: Request | Response) -> bytes:
    """The wire form, with Content-Length set from the body."""
    message.headers.set("Content-Length", str(len(message.body)))
    return bytes(message)


def local_ip_towards(host: str) -> str:
    """The local address this machine uses to reach `host` (no packet is sent)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect((host, 9))
            address: str = probe.getsockname()[0]
        except OSError:
            address = "127.0.0.1"
    return address


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, owner: SipTransport) -> None:
        self._owner = owner

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._owner.received(data, Peer("UDP", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        log.debug("sip udp error", extra={"error": str(exc)})


class SipTransport:
    """The SIP listeners (UDP and TCP on one port, TLS on another) and the connections opened."""

    def __init__(
        self,
        host: str,
        port: int,
        tls_port: int,
        tls_context: ssl.SSLContext | None,
        handler: Handler,
    ) -> None:
        self.host = host
        self._port = port
        self._tls_port = tls_port
        self._tls_context = tls_context
        self._handler = handler
        self._udp: asyncio.DatagramTransport | None = None
        self._servers: list[asyncio.Server] = []
        self._readers: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.ports: dict[str, int] = {}

    async def start(self) -> None:
        """Bind UDP and TCP (the same port; 0 picks one free for both) and TLS."""
        loop = asyncio.get_running_loop()
        for _ in range(20):
            sock = self._bind_udp(self._port)
            port = sock.getsockname()[1]
            try:
                tcp = await asyncio.start_server(self._serve("TCP"), self.host, port)
            except OSError:
                sock.close()
                if self._port:
                    raise
                continue
            break
        else:
            raise OSError("no port free for SIP on both UDP and TCP")
        self._udp, _ = await loop.create_datagram_endpoint(lambda: _Datagrams(self), sock=sock)
        self._servers.append(tcp)
        self.ports = {"udp": port, "tcp": port}
        if self._tls_context is not None:
            tls = await asyncio.start_server(
                self._serve("TLS"), self.host, self._tls_port, ssl=self._tls_context
            )
            self._servers.append(tls)
            self.ports["tls"] = tls.sockets[0].getsockname()[1]

    def _bind_udp(self, port: int) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.setblocking(False)
        return sock

    def _serve(
        self, transport: str
    ) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            host, port = writer.get_extra_info("peername")[:2]
            self._writers.add(writer)
            await self._read_stream(reader, Peer(transport, host, port, writer))

        return serve

    async def connect(self, transport: str, host: str, port: int) -> Peer:
        """A peer to send to: UDP from the listening socket, TCP/TLS on a new connection."""
        if transport == "UDP":
            return Peer("UDP", host, port)
        context = None
        if transport == "TLS":
            context = ssl.create_default_context()
            # A dev emulator dialling a test carrier: its certificate is not checked.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        peer = Peer(transport, host, port, writer)
        self._writers.add(writer)
        task = asyncio.get_running_loop().create_task(self._read_stream(reader, peer))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)
        return peer

    async def _read_stream(self, reader: asyncio.StreamReader, peer: Peer) -> None:
        """RFC 3261 §18.3: messages delimited by their Content-Length; CRLF keep-alives skipped."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                head = head.lstrip(b"\r\n")
                if not head.strip():
                    continue
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() in (b"content-length", b"l"):
                        length = int(value.strip() or 0)
                body = await reader.readexactly(length) if length else b""
                self.received(head + body, peer)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            pass
        except ValueError:
            log.info("sip stream framing error", extra={"peer": peer.address})
        finally:
            if peer.writer is not None:
                self._writers.discard(peer.writer)
                with contextlib.suppress(Exception):
                    peer.writer.close()

    def received(self, data: bytes, peer: Peer) -> None:
        """Parse one message and hand it on; garbage is logged and dropped."""
        if not data.strip():
            return  # keep-alive
        try:
            message = Message.parse(data)
        except (ValueError, UnicodeDecodeError) as exc:
            log.info("unparsable sip message", extra={"peer": peer.address, "error": str(exc)})
            return
        self._handler(message, peer)

    def send(self, message: Request | Response, peer: Peer) -> None:
        """Write a message to a peer (best effort: a closed connection loses it)."""
        data = encode(message)
        if peer.transport == "UDP":
            if self._udp is not None:
                self._udp.sendto(data, (peer.host, peer.port))
            return
        if peer.writer is not None and not peer.writer.is_closing():
            peer.writer.write(data)

    async def close(self) -> None:
        """Stop listening and close every connection."""
        for server in self._servers:
            server.close()
        for task in list(self._readers):
            task.cancel()
        for writer in list(self._writers):
            writer.close()
        if self._udp is not None:
            self._udp.close()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1.0)
        self._servers.clear()
