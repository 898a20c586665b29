"""One SIP request and its final answer, over UDP (RFC 3261 timer A) or a TCP/TLS stream.

Errors:
    ExchangeError       base
    ├── NoAnswer        nothing matching came back in time
    ├── Unreachable     the port is closed (ICMP port unreachable) or the stream was closed
    └── NotSip          something answered, but not with a SIP response
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from sipmessage import Message, Request, Response

from numbers_api.sip_options import answers

T1_S = 0.5  # RFC 3261 timer T1: the first retransmission interval
T2_S = 4.0  # RFC 3261 timer T2: the longest one for a non-INVITE request
MAX_HEAD_BYTES = 16 * 1024
MAX_BODY_BYTES = 64 * 1024


class ExchangeError(Exception):
    """Base of a failed request/answer exchange."""


class NoAnswer(ExchangeError):
    """No final answer to the request within the time allowed."""


class Unreachable(ExchangeError):
    """The carrier's port refused the datagram or closed the stream."""


class NotSip(ExchangeError):
    """The answer is not a SIP response."""


class Channel(Protocol):
    """A way to the carrier that sends a request and returns its final answer."""

    local: tuple[str, int]

    async def exchange(self, request: Request, timeout_s: float) -> Response:
        """The final (non-1xx) answer to `request`, or an ExchangeError."""
        ...

    def close(self) -> None:
        """Let go of the socket."""
        ...


def _parse(data: bytes) -> Message:
    try:
        return Message.parse(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotSip(str(exc) or type(exc).__name__) from exc


def _final_answer(message: Message, request: Request) -> Response | None:
    """`message` when it is the final answer to `request`; None for a provisional or a stray one."""
    if not isinstance(message, Response):
        return None  # a request from the carrier (e.g. its own OPTIONS): not ours to answer
    if not answers(message, request) or message.code < 200:
        return None
    return message


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes | OSError] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self.received.put_nowait(exc)


class UdpChannel:
    """A connected UDP socket: only the carrier's address answers, and ICMP errors surface."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Datagrams) -> None:
        self._transport = transport
        self._protocol = protocol
        sockname = transport.get_extra_info("sockname")
        self.local: tuple[str, int] = (sockname[0], sockname[1])

    @classmethod
    async def open(cls, address: str, port: int) -> UdpChannel:
        """A UDP socket connected to `address`:`port`."""
        transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
            _Datagrams, remote_addr=(address, port)
        )
        return cls(transport, protocol)

    async def exchange(self, request: Request, timeout_s: float) -> Response:
        """Send, and send again after T1, 2*T1... (at most T2 apart) until an answer or timeout."""
        loop = asyncio.get_running_loop()
        data = bytes(request)
        deadline = loop.time() + timeout_s
        interval = T1_S
        self._transport.sendto(data)
        resend_at = loop.time() + interval
        while (now := loop.time()) < deadline:
            try:
                item = await asyncio.wait_for(
                    self._protocol.received.get(), timeout=min(resend_at, deadline) - now
                )
            except TimeoutError:
                if loop.time() >= resend_at:
                    interval = min(interval * 2, T2_S)
                    self._transport.sendto(data)
                    resend_at = loop.time() + interval
                continue
            if isinstance(item, OSError):
                raise Unreachable(item.strerror or type(item).__name__)
            response = _final_answer(_parse(item), request)
            if response is not None:
                return response
        raise NoAnswer

    def close(self) -> None:
        """Close the socket."""
        self._transport.close()


class StreamChannel:
    """A TCP or TLS connection: messages framed by their Content-Length (RFC 3261 18.3)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        sockname = writer.get_extra_info("sockname")
        self.local: tuple[str, int] = (sockname[0], sockname[1])

    async def exchange(self, request: Request, timeout_s: float) -> Response:
        """Write the request and read messages until its final answer, within `timeout_s`."""
        try:
            async with asyncio.timeout(timeout_s):
                self._writer.write(bytes(request))
                await self._writer.drain()
                while True:
                    response = _final_answer(await self._read_message(), request)
                    if response is not None:
                        return response
        except TimeoutError as exc:
            raise NoAnswer from exc
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise Unreachable("the carrier closed the connection") from exc
        except asyncio.LimitOverrunError as exc:
            raise NotSip("no end of headers in the first 64 KiB") from exc

    async def _read_message(self) -> Message:
        head = b""
        while not head.strip():  # RFC 5626 keep-alives are bare CRLFs
            head = await self._reader.readuntil(b"\r\n\r\n")
            if len(head) > MAX_HEAD_BYTES:
                raise NotSip("headers longer than 16 KiB")
        message = _parse(head.lstrip())
        length = message.content_length or 0
        if not 0 <= length <= MAX_BODY_BYTES:
            raise NotSip(f"Content-Length {length}")
        if length:
            message.body = await self._reader.readexactly(length)
        return message

    def close(self) -> None:
        """Close the connection (without waiting for the peer)."""
        with contextlib.suppress(Exception):
            self._writer.close()
