"""The SIP edge: carrier INVITEs, OPTIONS, ACK, BYE and CANCEL, answered as livekit/sip does.

livekit/sip (`pkg/sip/inbound.go`, `server.go`) with LiveKit OSS behind it (`ioservice_sip.go`):

- OPTIONS: a bare 200 OK.
- INVITE: 100 "Processing" (with Allow) at once; the trunk is matched (numbers in their spellings,
  `allowed_numbers`, `allowed_addresses` against the packet's source); a trunk with credentials
  challenges an INVITE without Proxy-Authorization with 407 "Unauthorized" and
  `Proxy-Authenticate: Digest realm, nonce, algorithm=MD5`; a wrong answer gets 401
  "Unauthorized" (an unparsable one or one without a challenge 401 "Bad credentials"). Then 180
  "Ringing" and the dispatch rules: no rule (no trunk matched, a source or caller not allowed)
  means the INVITE is dropped without a final response; a match puts the caller in the room
  (`CallManager.dispatch_inbound`, the control API's code path) and the call is answered 200 OK
  with a G.711 SDP answer. Malformed INVITEs get 400 "Bad request"; a configuration conflict 503
  "Try again later".
- ACK ends the 200 OK's retransmissions (UDP); BYE is answered 200 and hangs the call up; CANCEL
  before the answer is answered 200 and the INVITE 487. Other methods: 405.

Calls placed with CreateSIPParticipant to a trunk the edge may reach use `sipdial`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from livekit.protocol.sip import SIPInboundTrunkInfo
from sipmessage import AuthCredentials, Request, Response

from livekit_emulator import ids, sipcert, sipdigest, siprtp, sipsdp
from livekit_emulator.calls import InboundRejected
from livekit_emulator.config import EmulatorConfig
from livekit_emulator.errors import TwirpError
from livekit_emulator.sipdialog import (
    ALLOW,
    OK_RETRANSMITS,
    T1,
    TRANSACTION_LINGER_S,
    USER_AGENT,
    Dialog,
    branch_of,
    describe,
    new_branch,
    response_to,
    with_tag,
)
from livekit_emulator.siptransport import Peer, SipTransport, local_ip_towards

if TYPE_CHECKING:
    from livekit_emulator.calls import CallManager
    from livekit_emulator.state import EmulatorState

log = logging.getLogger("livekit_emulator.sip")


@dataclass(eq=False)
class InviteTransaction:
    """A server INVITE transaction (by its branch): its last response is resent on retransmits."""

    request: Request
    peer: Peer
    to_tag: str = ""
    last: Response | None = None
    final: bool = False
    cancelled: asyncio.Event = field(default_factory=asyncio.Event)
    acked: asyncio.Event = field(default_factory=asyncio.Event)


class SipEdge:
    """SIP listeners and the calls that use them."""

    def __init__(self, config: EmulatorConfig, state: EmulatorState, calls: CallManager) -> None:
        self.config = config
        self._state = state
        self._calls = calls
        tls = sipcert.server_context(config.sip_tls_cert, config.sip_tls_key)
        self.transport = SipTransport(
            config.sip_host, config.sip_port, config.sip_tls_port, tls, self._on_message
        )
        self._networks = [ipaddress.ip_network(n, strict=False) for n in config.sip_dial_networks]
        self._invites: dict[str, InviteTransaction] = {}
        self._dialogs: dict[tuple[str, str], Dialog] = {}
        self._clients: dict[str, asyncio.Queue[Response]] = {}
        # (Call-ID, From tag) -> our To tag, so an INVITE answering a challenge keeps its call id.
        self._to_tags: dict[tuple[str, str], str] = {}
        # Call-ID -> (realm, nonce) of the challenge sent for it.
        self._challenges: dict[str, tuple[str, str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen."""
        await self.transport.start()
        log.info("sip edge listening", extra={"host": self.config.sip_host, **self.ports})

    @property
    def ports(self) -> dict[str, int]:
        """The bound ports: `udp`, `tcp` (the same) and `tls`."""
        return dict(self.transport.ports)

    def reset(self) -> None:
        """Forget calls in progress (their sockets too); the listeners stay."""
        for dialog in self._dialogs.values():
            dialog.ended = True
            dialog.close_media()
        self._dialogs.clear()
        self._invites.clear()
        self._to_tags.clear()
        self._challenges.clear()
        for task in list(self._tasks):
            task.cancel()

    async def close(self) -> None:
        """Stop listening and drop every call."""
        self.reset()
        await self.transport.close()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background step of a call, kept until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- addresses ----------------------------------------------------------------------------

    def may_dial(self, host: str) -> bool:
        """Loopback addresses, `localhost` and the configured networks are dialled for real."""
        if host == "localhost":
            return True
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return ip.is_loopback or any(ip in network for network in self._networks)

    def advertised_host(self, towards: str) -> str:
        """Our address in Via, Contact and SDP: the SIP host, or the route's when it is a
        wildcard."""
        host = self.config.sip_host
        if host in ("0.0.0.0", "::", ""):
            return local_ip_towards(towards)
        return host

    def contact(self, peer: Peer) -> str:
        """Our Contact for a call over `peer`'s transport."""
        host = self.advertised_host(peer.host)
        host = f"[{host}]" if ":" in host else host
        port = self.ports[peer.transport.lower()]
        suffix = "" if peer.transport == "UDP" else f";transport={peer.transport.lower()}"
        return f"<sip:{host}:{port}{suffix}>"

    def via(self, peer: Peer, branch: str) -> str:
        """Our Via for a request sent to `peer`."""
        host = self.advertised_host(peer.host)
        host = f"[{host}]" if ":" in host else host
        port = self.ports[peer.transport.lower()]
        return f"SIP/2.0/{peer.transport} {host}:{port};branch={branch};rport"

    # --- client transactions (requests the emulator sends) --------------------------------------

    @property
    def clients(self) -> dict[str, asyncio.Queue[Response]]:
        """Client transactions waiting for responses, by branch."""
        return self._clients

    def open_client(self, branch: str) -> asyncio.Queue[Response]:
        """Where responses to the request sent with `branch` arrive."""
        queue: asyncio.Queue[Response] = asyncio.Queue()
        self._clients[branch] = queue
        return queue

    def close_client(self, branch: str) -> None:
        """Stop collecting responses for `branch`."""
        self._clients.pop(branch, None)

    async def request(self, request: Request, peer: Peer) -> Response | None:
        """A non-INVITE transaction: send (resend over UDP) until a final response, for up to
        4 s (a BYE's answer is awaited, never needed)."""
        branch = branch_of(request)
        queue = self.open_client(branch)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 4.0
        interval = T1
        try:
            self.transport.send(request, peer)
            while (left := deadline - loop.time()) > 0:
                wait = min(left, interval) if peer.transport == "UDP" else left
                try:
                    response = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    if peer.transport == "UDP":
                        self.transport.send(request, peer)
                        interval = min(interval * 2, 4.0)
                    continue
                if response.code >= 200:
                    return response
            return None
        finally:
            self.close_client(branch)

    def register(self, dialog: Dialog) -> None:
        """Recognise the far end's requests in this dialog from now on."""
        self._dialogs[(dialog.call_id, dialog.local_tag)] = dialog

    def forget(self, dialog: Dialog) -> None:
        """The dialog is over."""
        self._dialogs.pop((dialog.call_id, dialog.local_tag), None)
        dialog.close_media()

    async def send_bye(self, dialog: Dialog) -> None:
        """BYE to the far end; its answer is awaited, not needed."""
        request = Request("BYE", dialog.target)
        request.headers.set("Via", self.via(dialog.peer, new_branch()))
        request.headers.set("Max-Forwards", "70")
        request.headers.set("From", dialog.local)
        request.headers.set("To", dialog.remote)
        request.headers.set("Call-ID", dialog.call_id)
        request.headers.set("CSeq", f"{dialog.cseq} BYE")
        request.headers.set("User-Agent", USER_AGENT)
        dialog.cseq += 1
        response = await self.request(request, dialog.peer)
        log.info(
            "sip bye sent",
            extra={
                "sip_call_id": dialog.sip_call_id,
                "answer": response.code if response is not None else None,
            },
        )

    # --- incoming messages ----------------------------------------------------------------------

    def _on_message(self, message: Request | Response, peer: Peer) -> None:
        try:
            if isinstance(message, Response):
                queue = self._clients.get(branch_of(message))
                if queue is not None:
                    queue.put_nowait(message)
                return
            handler = {
                "INVITE": self._on_invite,
                "ACK": self._on_ack,
                "BYE": self._on_bye,
                "CANCEL": self._on_cancel,
                "OPTIONS": self._on_options,
            }.get(message.method, self._on_other)
            handler(message, peer)
        except (KeyError, ValueError) as exc:
            log.info("malformed sip message", extra={"peer": peer.address, "error": str(exc)})
            if isinstance(message, Request) and message.method != "ACK":
                self.transport.send(response_to(message, 400, "Bad request"), peer)

    def _on_options(self, request: Request, peer: Peer) -> None:
        # livekit/sip's onOptions: a bare 200 OK (no Allow, Accept or Supported).
        self.transport.send(response_to(request, 200, "OK"), peer)

    def _on_other(self, request: Request, peer: Peer) -> None:
        # OnNoRoute.
        self.transport.send(response_to(request, 405, "Method Not Allowed"), peer)

    def _dialog_of(self, request: Request) -> Dialog | None:
        tag = request.to_address.parameters.get("tag") or ""
        return self._dialogs.get((request.call_id, tag))

    def _on_ack(self, request: Request, peer: Peer) -> None:
        tx = self._invites.get(branch_of(request))
        if tx is not None:
            tx.acked.set()
        dialog = self._dialog_of(request)
        if dialog is not None:
            dialog.acked.set()

    def _on_bye(self, request: Request, peer: Peer) -> None:
        if not request.to_address.parameters.get("tag"):
            self.transport.send(response_to(request, 400, ""), peer)
            return
        dialog = self._dialog_of(request)
        if dialog is None:
            self.transport.send(response_to(request, 481, "Call does not exist"), peer)
            return
        self.transport.send(response_to(request, 200, "OK"), peer)
        dialog.ended = True
        self.forget(dialog)
        log.info("sip bye received", extra={"sip_call_id": dialog.sip_call_id})
        self._calls.hangup(dialog.sip_call_id)

    def _on_cancel(self, request: Request, peer: Peer) -> None:
        tx = self._invites.get(branch_of(request))
        if tx is None:
            self.transport.send(response_to(request, 481, "Call/Transaction Does Not Exist"), peer)
            return
        self.transport.send(response_to(request, 200, "OK", tx.to_tag), peer)
        if tx.final:
            return
        tx.cancelled.set()
        self._reply(tx, 487, "Request Terminated", allow=True)
        dialog = self._dialogs.get((tx.request.call_id, tx.to_tag))
        if dialog is not None:
            dialog.ended = True
            self.forget(dialog)
            log.info("sip cancel received", extra={"sip_call_id": dialog.sip_call_id})
            self._calls.hangup(dialog.sip_call_id)

    def _on_invite(self, request: Request, peer: Peer) -> None:
        branch = branch_of(request)
        tx = self._invites.get(branch)
        if tx is not None:  # a retransmission: say again what was said
            if tx.last is not None:
                self.transport.send(tx.last, tx.peer)
            return
        if request.to_address.parameters.get("tag"):
            self._reinvite(request, peer)
            return
        tx = InviteTransaction(request, peer)
        self._invites[branch] = tx
        asyncio.get_running_loop().call_later(TRANSACTION_LINGER_S, self._invites.pop, branch, None)
        self.spawn(self._serve_invite(tx))

    def _reinvite(self, request: Request, peer: Peer) -> None:
        dialog = self._dialog_of(request)
        if dialog is None:
            self.transport.send(response_to(request, 481, "Call does not exist"), peer)
            return
        response = response_to(request, 200, "OK")
        response.headers.set("Contact", self.contact(peer))
        response.headers.set("Content-Type", "application/sdp")
        response.body = dialog.local_sdp
        self.transport.send(response, peer)

    # --- the inbound call -----------------------------------------------------------------------

    def _reply(
        self,
        tx: InviteTransaction,
        code: int,
        phrase: str,
        *,
        allow: bool = False,
        body: bytes = b"",
    ) -> None:
        """Answer the INVITE. livekit/sip's `respond` adds Allow, and Contact to final answers;
        its auth answers are bare."""
        if tx.final:
            return
        response = response_to(tx.request, code, phrase, tx.to_tag)
        if allow:
            response.headers.set("Allow", ALLOW)
            if code >= 200:
                response.headers.set("Contact", self.contact(tx.peer))
        if body:
            response.headers.set("Content-Type", "application/sdp")
            response.body = body
        tx.last = response
        tx.final = code >= 200
        self.transport.send(response, tx.peer)

    def _authenticate(self, tx: InviteTransaction, trunk: SIPInboundTrunkInfo) -> bool:
        """`handleInviteAuth`: challenge (407), refuse (401) or let the INVITE through."""
        request = tx.request
        realm = trunk.auth_realm or sipdigest.DEFAULT_REALM
        header = request.headers.get("Proxy-Authorization")
        if header is None:
            nonce = sipdigest.new_nonce(request.call_id)
            self._challenges[request.call_id] = (realm, nonce)
            response = response_to(request, 407, "Unauthorized", tx.to_tag)
            response.headers.set("Proxy-Authenticate", str(sipdigest.challenge(realm, nonce)))
            tx.last, tx.final = response, True
            self.transport.send(response, tx.peer)
            return False
        try:
            params = AuthCredentials.parse(header).parameters
        except ValueError:
            params = None
        if params is None:
            self._reply(tx, 401, "Bad credentials")
            return False
        if params.get("username") != trunk.auth_username:
            self._reply(tx, 401, "Unauthorized")
            return False
        issued = self._challenges.get(request.call_id)
        if issued is None:
            self._reply(tx, 401, "Bad credentials")
            return False
        if not sipdigest.verify(
            params,
            method=request.method,
            password=trunk.auth_password,
            realm=issued[0],
            nonce=issued[1],
        ):
            self._reply(tx, 401, "Unauthorized")
            return False
        return True

    async def _serve_invite(self, tx: InviteTransaction) -> None:
        request, peer = tx.request, tx.peer
        try:
            call_id = request.call_id
            caller, callee = request.from_address, request.to_address
        except (KeyError, ValueError):
            call_id, caller, callee = "", None, None
        from_tag = caller.parameters.get("tag") if caller is not None else None
        if caller is None or callee is None or not call_id or not from_tag:
            self._reply(tx, 400, "Bad request", allow=True)
            return
        tx.to_tag = self._to_tags.setdefault((call_id, from_tag), ids.new_id(ids.SIP_CALL))
        self._reply(tx, 100, "Processing", allow=True)
        from_user, to_user = caller.uri.user or "", callee.uri.user or ""
        try:
            trunk = self._calls.match_inbound_trunk(from_user, to_user, peer.host, caller.uri.host)
        except TwirpError:
            self._reply(tx, 503, "Try again later", allow=True)
            return
        if (
            trunk is not None
            and trunk.auth_username
            and trunk.auth_password
            and not self._authenticate(tx, trunk)
        ):
            return
        self._reply(tx, 180, "Ringing", allow=True)
        host = self.advertised_host(peer.host)
        rtp = await siprtp.open_rtp(host if host != "0.0.0.0" else "127.0.0.1")
        try:
            local_sdp, media = sipsdp.answer(request.body, host, rtp.port)
        except sipsdp.NoCommonMedia:
            rtp.close()
            self._reply(tx, 400, "Bad Request", allow=True)
            return
        rtp.negotiated(media)
        if tx.cancelled.is_set():
            rtp.close()
            return
        try:
            result = self._calls.dispatch_inbound(
                trunk, from_user, to_user, sip_call_id=tx.to_tag, answer=False
            )
        except InboundRejected as exc:
            rtp.close()
            if exc.drop:
                # livekit/sip's Drop: the transaction ends unanswered (a CANCEL finds none).
                tx.final = True
                self._invites.pop(branch_of(request), None)
                log.info("sip invite dropped", extra={"from": from_user, "to": to_user})
            else:
                self._reply(tx, exc.sip_status_code, exc.reason, allow=True)
            return
        except TwirpError:
            rtp.close()
            self._reply(tx, 503, "Try again later", allow=True)
            return
        call = self._state.calls[result.sip_call_id]
        contact = request.contact
        dialog = Dialog(
            edge=self,
            peer=peer,
            sip_call_id=result.sip_call_id,
            call_id=call_id,
            local_tag=tx.to_tag,
            local=with_tag(request.headers["To"], tx.to_tag),
            remote=request.headers["From"],
            target=contact[0].uri if contact else caller.uri,
            cseq=request.cseq.sequence + 1,
            rtp=rtp,
            local_sdp=local_sdp,
        )
        self.register(dialog)
        call.line = dialog
        call.sip = {
            "transport": peer.transport,
            "source": peer.address,
            "invite": describe(request),
            "rtp": rtp.stats,
        }
        if self.config.sip_answer_delay_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tx.cancelled.wait(), self.config.sip_answer_delay_s)
        if tx.cancelled.is_set() or dialog.ended:
            return
        self._calls.answer_inbound(call)
        self._reply(tx, 200, "OK", allow=True, body=local_sdp)
        if peer.transport == "UDP":
            for delay in OK_RETRANSMITS:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(dialog.acked.wait(), delay)
                if dialog.acked.is_set() or dialog.ended:
                    break
                if tx.last is not None:
                    self.transport.send(tx.last, peer)
