"""A SIP carrier for tests: SIPp (Debian `sip-tester`) running a UAS scenario, or placing calls
from a chosen loopback address as a carrier's INVITEs reach LiveKit; a test PKI with a
small TLS SIP server (SIPp's Debian build has no TLS) that answers OPTIONS with 200; a DNS server
on loopback serving a zone (SRV, NAPTR, A) to the probe's resolvers."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import shutil
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import dns.asyncresolver
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset
import psutil
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sipmessage import Message, Request, Response

SIPP = "sipp"
SIPP_MISSING = "SIPp is not installed: run tools/dev/system-packages.sh (Debian sip-tester)"

# The answer every scenario sends, with its status line and extra headers filled in.
_ANSWER = """
  <send{attributes}>
    <![CDATA[
      SIP/2.0 {status}
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]{extra}
      Content-Length: 0
    ]]>
  </send>"""


def answer(status: str, *, extra: str = "", attributes: str = "") -> str:
    """A SIPp <send> of a response to the last request."""
    extra = f"\n      {extra}" if extra else ""
    return _ANSWER.format(status=status, extra=extra, attributes=attributes)


def scenario(*steps: str) -> str:
    """A SIPp scenario document."""
    body = "\n".join(steps)
    return f'<?xml version="1.0" encoding="ISO-8859-1" ?>\n<scenario name="carrier">{body}\n</scenario>\n'


def _free_udp_pair() -> int:
    """A UDP port p with p+2 free too (SIPp's media echo takes both)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
                try:
                    second.bind(("127.0.0.1", port + 2))
                except OSError:
                    continue
                return port


def _free_port(kind: socket.SocketKind) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Sipp:
    """A running SIPp: its port and, once it stopped, its exit code and error log."""

    port: int
    returncode: int | None = None
    errors: str = ""


@contextlib.asynccontextmanager
async def sipp_carrier(
    workdir: Path, scenario_xml: str, *, transport: str, calls: int = 1
) -> AsyncIterator[Sipp]:
    """SIPp as a carrier on loopback (`transport` u1 for UDP, t1 for TCP) running `scenario_xml`
    for `calls` calls; waits until it listens, and on exit until it has finished its calls."""
    binary = shutil.which(SIPP)
    assert binary, SIPP_MISSING
    path = workdir / "carrier.xml"
    path.write_text(scenario_xml)
    kind = socket.SOCK_DGRAM if transport == "u1" else socket.SOCK_STREAM
    port = _free_port(kind)
    process = await asyncio.create_subprocess_exec(
        binary,
        "-sf", str(path),
        "-i", "127.0.0.1",
        "-p", str(port),
        "-t", transport,
        "-m", str(calls),
        "-cp", str(_free_port(socket.SOCK_DGRAM)),
        "-mp", str(_free_udp_pair()),
        "-nostdin",
        "-trace_err",
        "-timeout", "30s",
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    carrier = Sipp(port)
    try:
        await _wait_bound(process, port, kind)
        yield carrier
        async with asyncio.timeout(30):
            _, stderr = await process.communicate()
        carrier.returncode = process.returncode
        logs = await asyncio.to_thread(_error_logs, workdir)
        carrier.errors = stderr.decode(errors="replace") + logs
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


@dataclass
class Caller:
    """A finished SIPp call: its exit code (0: the scenario went as written) and its messages."""

    returncode: int
    trace: str


async def sipp_call(
    workdir: Path,
    scenario_file: Path,
    target: str,
    *,
    called: str,
    caller: str,
    source_ip: str = "127.0.0.1",
    credentials: tuple[str, str] | None = None,
    timeout_s: float = 20.0,
) -> Caller:
    """SIPp as the carrier placing one call over UDP from `source_ip` (any 127/8 address is
    loopback on Linux) to `target` (host:port) with a scenario of the emulator's
    (`[service]` is the called number, `-key caller` the caller's), answering a digest
    challenge with `credentials`; returns when the scenario has ended."""
    binary = shutil.which(SIPP)
    assert binary, SIPP_MISSING
    messages = workdir / f"{scenario_file.stem}.{source_ip}.msg.log"
    auth = ("-au", credentials[0], "-ap", credentials[1]) if credentials else ()
    process = await asyncio.create_subprocess_exec(
        binary, target,
        "-sf", str(scenario_file),
        "-m", "1",
        "-t", "u1",
        "-i", source_ip,
        "-p", str(_free_port(socket.SOCK_DGRAM)),
        "-mp", str(_free_udp_pair()),
        "-s", called,
        "-key", "caller", caller,
        *auth,
        "-nostdin",
        "-timeout", f"{int(timeout_s)}s",
        "-recv_timeout", "8000",
        "-trace_msg", "-message_file", str(messages),
        cwd=workdir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        async with asyncio.timeout(timeout_s + 5):
            returncode = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    trace = messages.read_text(errors="replace") if messages.exists() else ""
    return Caller(returncode, trace)


def _error_logs(workdir: Path) -> str:
    """What SIPp wrote with -trace_err (unexpected messages, failed checks)."""
    return "".join(p.read_text(errors="replace") for p in workdir.glob("*_errors.log"))


async def _wait_bound(process: asyncio.subprocess.Process, port: int, kind: int) -> None:
    """Until SIPp has bound its SIP port (it exits on a bad argument or a busy port)."""
    async with asyncio.timeout(10):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"sipp exited with {process.returncode} before listening")
            sockets = psutil.Process(process.pid).net_connections(kind="inet")
            if any(s.laddr and s.laddr.port == port and s.type == kind for s in sockets):
                return
            await asyncio.sleep(0.02)


# A test PKI

CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
    encipher_only=False, decipher_only=False,
)  # fmt: skip


@dataclass(frozen=True)
class Issued:
    """A certificate and its key as PEM files."""

    cert: Path
    key: Path


class CertificateAuthority:
    """A certificate authority made for the test, issuing leaf certificates for loopback."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "TalkifAI Test CA")])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(CA_KEY_USAGE, critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )

    def client_context(self) -> ssl.SSLContext:
        """A verifying client context that trusts this authority only."""
        pem = self.certificate.public_bytes(serialization.Encoding.PEM).decode()
        return ssl.create_default_context(cadata=pem)

    def issue(
        self,
        name: str,
        dns_names: list[str],
        *,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> Issued:
        """A server certificate for `dns_names` (and 127.0.0.1 when one is localhost)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        alt: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        if "localhost" in dns_names:
            alt.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0])]))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - timedelta(days=1))
            .not_valid_after(not_after or now + timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        cert_path, key_path = self.workdir / f"{name}.crt", self.workdir / f"{name}.key"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return Issued(cert_path, key_path)


@contextlib.asynccontextmanager
async def tls_sip_server(issued: Issued) -> AsyncIterator[int]:
    """A TLS server on 127.0.0.1 presenting `issued`, answering each OPTIONS with 200; yields
    its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            while True:
                request = Message.parse(await reader.readuntil(b"\r\n\r\n"))
                assert isinstance(request, Request)
                ok = Response(200, "OK")
                for header in ("Via", "From", "To", "Call-ID", "CSeq"):
                    for value in request.headers.getlist(header):
                        ok.headers.add(header, value)
                ok.content_length = 0
                writer.write(bytes(ok))
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context)
    async with server:
        yield int(server.sockets[0].getsockname()[1])


# A DNS zone on loopback


class _Zone(asyncio.DatagramProtocol):
    """An authoritative answer for each name in `records` ({(name, type): [rdata...]}), NXDOMAIN
    for names it does not have at all."""

    def __init__(self, records: dict[tuple[str, str], list[str]]) -> None:
        self.records = {(n.lower().rstrip(".") + ".", t): v for (n, t), v in records.items()}
        self.names = {name for name, _ in self.records}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name, kind = question.name.to_text().lower(), dns.rdatatype.to_text(question.rdtype)
        if name not in self.names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif (name, kind) in self.records:
            response.answer.append(
                dns.rrset.from_text_list(question.name, 60, "IN", kind, self.records[name, kind])
            )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@dataclass(frozen=True)
class Zone:
    """Resolvers that ask the test zone: dnspython's (SRV, NAPTR) and getaddrinfo's stand-in."""

    dns_resolver: dns.asyncresolver.Resolver

    async def addresses(self, host: str, port: int) -> list[str]:
        """A and AAAA of `host` from the zone, failing like getaddrinfo for a missing name."""
        found: list[str] = []
        for kind in ("A", "AAAA"):
            try:
                answer = await self.dns_resolver.resolve(host, kind, search=False)
            except dns.resolver.NXDOMAIN as exc:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from exc
            except dns.resolver.NoAnswer:
                continue
            found += [r.to_text() for r in answer]
        return found


@contextlib.asynccontextmanager
async def dns_zone(records: dict[tuple[str, str], list[str]]) -> AsyncIterator[Zone]:
    """A DNS server on a free loopback UDP port serving `records`."""
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: _Zone(records), local_addr=("127.0.0.1", 0)
    )
    resolver = dns.asyncresolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = transport.get_extra_info("sockname")[1]
    try:
        yield Zone(resolver)
    finally:
        transport.close()
