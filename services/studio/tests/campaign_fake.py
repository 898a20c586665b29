"""call-orchestrator's campaign routes (issue 22's contract) and the numbers-api reads the Campaigns
page needs, answered inside the browser with Playwright's `page.route`: the Studio's pages are
tested at the network level without any backend running.

Only what the Studio reads is modelled: dry run and create from a multipart CSV (invalid numbers,
duplicates and do-not-call numbers refused by line), the list with a cursor, a campaign that moves
on by itself as it is read (`advance_on_read`), rows with attempts, the transitions (409 outside
them), results.csv and the do-not-call list.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import email.parser
import email.policy
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

E164 = re.compile(r"^\+[1-9]\d{9,14}$")
NOW = "2026-12-08T10:00:00Z"
ROW_STATUSES = (
    "pending",
    "in_progress",
    "waiting_retry",
    "completed",
    "failed",
    "do_not_call",
    "cancelled",
)
TRANSITIONS = {
    "start": ({"draft"}, "running"),
    "pause": ({"running"}, "paused"),
    "resume": ({"paused"}, "running"),
    "cancel": ({"draft", "running", "paused"}, "cancelled"),
}

AGENTS = [
    {"id": "agent_sales", "name": "Sales Agent", "architecture": "realtime"},
    {"id": "agent_support", "name": "Support Agent", "architecture": "pipeline"},
    {"id": "agent_chat", "name": "Chat Bot", "architecture": "text"},
]


def agent_data(a: dict[str, str]) -> dict[str, Any]:
    """An agent as numbers-api serves it."""
    return {
        **a,
        "instructions": "",
        "greeting": "",
        "language": "en",
        "stt": None,
        "llm": None,
        "tts": None,
        "realtime": None,
        "version": 1,
        "created_at": NOW,
        "updated_at": NOW,
    }


def number_data(phone: str, status: str = "active") -> dict[str, Any]:
    """A phone number as numbers-api serves it (the fields the Studio reads)."""
    return {
        "id": f"pn_{phone[1:]}",
        "phone_number": phone,
        "termination_uri": "trunk.pstn.twilio.com",
        "sip_username": "u",
        "has_sip_password": True,
        "inbound_agent": None,
        "outbound_agent": {"id": "agent_sales", "name": "Sales Agent", "architecture": "realtime"},
        "webhook_url": None,
        "recording_mode": "disabled",
        "sip_transport": "tls",
        "media_encryption": "require",
        "carrier": "twilio",
        "inbound_allowed_addresses": None,
        "inbound_auth_username": None,
        "has_inbound_auth_password": False,
        "inbound_allow_any_source": False,
        "headers": {},
        "status": status,
        "sync": {"state": "synced", "error": None, "synced_at": NOW},
        "last_check": None,
        "created_at": NOW,
        "updated_at": NOW,
    }


def campaign(
    cid: str, name: str, status: str = "draft", total: int = 0, **extra: Any
) -> dict[str, Any]:
    """A campaign object with every row pending unless `counts` says otherwise."""
    counts = dict.fromkeys(ROW_STATUSES, 0)
    counts["pending"] = total
    body: dict[str, Any] = {
        "id": cid,
        "name": name,
        "status": status,
        "agent": {"id": "agent_sales", "name": "Sales Agent"},
        "from_numbers": ["+12025550100"],
        "windows": {
            "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00",
            "end": "20:00",
            "blackout_dates": ["2026-12-25"],
        },
        "pacing": {"calls_per_second": 1.0, "max_concurrent": 2},
        "retry": {
            "max_attempts": 3,
            "delay_s": 3600,
            "on": {"busy": True, "no_answer": True, "failed": ["500-599"], "agent_failed": True},
        },
        "start_at": None,
        "ringing_timeout_s": None,
        "counts": {"total": total, **counts},
        "calls_in_progress": 0,
        "eta_at": None,
        "created_at": NOW,
        "started_at": None,
        "completed_at": None,
        "updated_at": NOW,
        "created_by": "user-1",
    }
    body.update(extra)
    return body


def row(
    rid: str, line: int, number: str, status: str = "pending", attempts: int = 0
) -> dict[str, Any]:
    """A campaign row with `attempts` answered-or-busy attempts, each with a call id."""
    return {
        "id": rid,
        "line": line,
        "to_number": number,
        "time_zone": "America/New_York",
        "metadata": {"name": f"Customer {line}"},
        "status": status,
        "attempts": [
            {
                "number": i + 1,
                "call_id": f"call_{rid}_{i + 1}",
                "from_number": "+12025550100",
                "started_at": NOW,
                "ended_at": NOW,
                "outcome": "answered" if status == "completed" and i == attempts - 1 else "busy",
                "sip_status_code": None if status == "completed" and i == attempts - 1 else 486,
                "detail": None,
            }
            for i in range(attempts)
        ],
        "next_attempt_at": "2026-12-08T11:00:00Z" if status == "waiting_retry" else None,
    }


def read_upload(body: bytes, content_type: str) -> tuple[str, dict[str, Any]]:
    """The CSV text and the `campaign` JSON of a multipart body."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    text, settings = "", {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if name == "file":
            text = payload.decode("utf-8-sig")
        elif name == "campaign":
            settings = json.loads(payload)
    return text, settings


@dataclass
class FakeBackend:
    """The state behind the mocked routes; tests arrange it and read what was asked."""

    campaigns: list[dict[str, Any]] = field(default_factory=list)
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    dnc: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[dict[str, Any]] = field(
        default_factory=lambda: [number_data("+12025550100"), number_data("+12025550101")]
    )
    #: A problem+json answer for the next `POST /campaigns` without dry_run, then cleared.
    create_problem: tuple[int, dict[str, Any]] | None = None
    #: Each `GET /campaigns/{id}` of a running campaign moves one pending row to completed.
    advance_on_read: bool = False
    #: The requests made: (method, path with query, Authorization header).
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)
    #: The `campaign` parts posted.
    posted_settings: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 25

    def find(self, cid: str) -> dict[str, Any] | None:
        return next((c for c in self.campaigns if c["id"] == cid), None)

    def verdict(self, text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Accepted and refused rows of a CSV, each with its line (header = 1)."""
        accepted: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        seen: dict[str, int] = {}
        blocked = {d["number"] for d in self.dnc}
        for index, record in enumerate(csv.DictReader(io.StringIO(text))):
            line = index + 2
            number = (record.pop("to_number", "") or "").strip()
            zone = record.pop("time_zone", None) or None
            if not E164.match(number):
                refused.append({"line": line, "to_number": number, "reason": "Invalid number"})
            elif number in seen:
                refused.append(
                    {
                        "line": line,
                        "to_number": number,
                        "reason": f"Duplicate of line {seen[number]}",
                    }
                )
            elif number in blocked:
                refused.append(
                    {"line": line, "to_number": number, "reason": "On the do-not-call list"}
                )
            elif zone == "Mars/Olympus":
                refused.append(
                    {"line": line, "to_number": number, "reason": "Unknown time zone Mars/Olympus"}
                )
            else:
                seen[number] = line
                accepted.append(
                    {"line": line, "to_number": number, "time_zone": zone, "metadata": record}
                )
        return accepted, refused

    def advance(self, c: dict[str, Any]) -> None:
        counts = c["counts"]
        if c["status"] != "running" or counts["pending"] == 0:
            return
        counts["pending"] -= 1
        counts["completed"] += 1
        for r in self.rows.get(c["id"], []):
            if r["status"] == "pending":
                r["status"] = "completed"
                r["attempts"] = row(r["id"], r["line"], r["to_number"], "completed", 1)["attempts"]
                break
        if counts["pending"] == counts["in_progress"] == counts["waiting_retry"] == 0:
            c.update(status="completed", completed_at=NOW, eta_at=None, calls_in_progress=0)

    def answer(
        self, method: str, url: str, body: bytes, content_type: str, auth: str | None = None
    ) -> tuple[int, Any]:
        """The status and JSON body (or CSV text) for one request."""
        parts = urlsplit(url)
        path, query = parts.path, parse_qs(parts.query)
        self.requests.append((method, path + (f"?{parts.query}" if parts.query else ""), auth))
        if path == "/agents" and method == "GET":
            return 200, {"items": [agent_data(a) for a in AGENTS], "next_cursor": None}
        if path == "/phone-numbers" and method == "GET":
            return 200, {"items": self.numbers, "next_cursor": None}
        if path == "/campaigns" and method == "GET":
            status = query.get("status", [None])[0]
            items = [c for c in self.campaigns if not status or c["status"] == status]
            start = int(query.get("cursor", ["0"])[0])
            limit = min(int(query.get("limit", [str(self.page_size)])[0]), self.page_size)
            more = start + limit < len(items)
            return 200, {
                "campaigns": items[start : start + limit],
                "next_cursor": str(start + limit) if more else None,
            }
        if path == "/campaigns" and method == "POST":
            return self.create(body, content_type, query.get("dry_run", ["false"])[0] == "true")
        match = re.fullmatch(
            r"/campaigns/([^/]+)(?:/(rows|results\.csv|start|pause|resume|cancel))?", path
        )
        if match:
            c = self.find(match[1])
            if c is None:
                return 404, {
                    "title": "Not Found",
                    "status": 404,
                    "detail": f"No campaign {match[1]}",
                }
            what = match[2]
            if what is None and method == "GET":
                if self.advance_on_read:
                    self.advance(c)
                return 200, c
            if what == "rows" and method == "GET":
                status = query.get("status", [None])[0]
                rows = [
                    r for r in self.rows.get(c["id"], []) if not status or r["status"] == status
                ]
                return 200, {"rows": rows, "next_cursor": None}
            if what == "results.csv" and method == "GET":
                lines = [
                    "line,to_number,status,attempts,last_outcome,last_sip_status_code,last_call_id,completed_at"
                ]
                for r in self.rows.get(c["id"], []):
                    last = r["attempts"][-1] if r["attempts"] else None
                    lines.append(
                        f"{r['line']},{r['to_number']},{r['status']},{len(r['attempts'])},"
                        f"{last['outcome'] if last else ''},,{last['call_id'] if last else ''},"
                    )
                return 200, "\n".join(lines) + "\n"
            if what in TRANSITIONS and method == "POST":
                allowed, target = TRANSITIONS[what]
                if c["status"] not in allowed:
                    detail = f"Cannot {what} a campaign that is {c['status']}"
                    return 409, {"title": "Conflict", "status": 409, "detail": detail}
                c["status"] = target
                if target == "running" and c["started_at"] is None:
                    c["started_at"] = NOW
                if target == "cancelled":
                    c["counts"]["cancelled"] += c["counts"]["pending"]
                    c["counts"]["pending"] = 0
                    c["completed_at"] = NOW
                c["eta_at"] = "2026-12-08T12:30:00Z" if target == "running" else None
                return 200, c
        if path == "/do-not-call" and method == "GET":
            return 200, {"numbers": self.dnc, "next_cursor": None}
        if path == "/do-not-call" and method == "POST":
            numbers = json.loads(body)["numbers"]
            known = {d["number"] for d in self.dnc}
            fresh = [n for n in numbers if n not in known]
            reason = json.loads(body).get("reason")
            self.dnc.extend(
                {"number": n, "reason": reason, "added_at": NOW, "added_by": "user-1"}
                for n in fresh
            )
            return 200, {"added": len(fresh)}
        match = re.fullmatch(r"/do-not-call/(.+)", path)
        if match and method == "DELETE":
            number = unquote(match[1])
            if not any(d["number"] == number for d in self.dnc):
                return 404, {
                    "title": "Not Found",
                    "status": 404,
                    "detail": f"{number} is not on the list",
                }
            self.dnc = [d for d in self.dnc if d["number"] != number]
            return 204, None
        return 404, {"title": "Not Found", "status": 404, "detail": f"No route {method} {path}"}

    def create(self, body: bytes, content_type: str, dry_run: bool) -> tuple[int, Any]:
        text, settings = read_upload(body, content_type)
        self.posted_settings.append(settings)
        accepted, refused = self.verdict(text)
        if not accepted:
            errors = [{"field": "file", "message": "No valid row: every row was refused"}]
            return 422, {
                "title": "Validation failed",
                "status": 422,
                "detail": errors[0]["message"],
                "errors": errors,
            }
        if dry_run:
            return 200, {
                "accepted": len(accepted),
                "rejected_rows": refused,
                "rejected_count": len(refused),
                "preview": accepted[:20],
            }
        if self.create_problem:
            status, problem = self.create_problem
            self.create_problem = None
            return status, problem
        cid = f"cmp_{len(self.campaigns) + 1}"
        created = campaign(
            cid,
            settings["name"],
            total=len(accepted),
            from_numbers=settings["from_numbers"],
            pacing=settings["pacing"],
            retry=settings["retry"],
            windows=settings["windows"],
            start_at=settings.get("start_at"),
        )
        self.campaigns.insert(0, created)
        self.rows[cid] = [
            row(f"row_{cid}_{a['line']}", a["line"], a["to_number"]) for a in accepted
        ]
        return 201, {
            **copy.deepcopy(created),
            "rejected_rows": refused,
            "rejected_count": len(refused),
        }


API = re.compile(r"^/(agents|phone-numbers|campaigns|do-not-call|events|calls)(/|$)")


async def install(
    page: Any, backend: FakeBackend, events: str | None = None, gate: asyncio.Event | None = None
) -> None:
    """Answer the page's API requests from `backend`; `/events` answers `events` (server-sent
    events text, once `gate` is set when one is given) or fails, as with no stream at all."""

    async def handle(route: Any) -> None:
        request = route.request
        path = urlsplit(request.url).path
        if not API.match(path):
            await route.continue_()
            return
        if path == "/events":
            if events is None:
                await route.abort()
            else:
                if gate is not None:
                    await gate.wait()
                await route.fulfill(
                    status=200, headers={"Content-Type": "text/event-stream"}, body=events
                )
            return
        status, body = backend.answer(
            request.method,
            request.url,
            request.post_data_buffer or b"",
            request.headers.get("content-type", ""),
            request.headers.get("authorization"),
        )
        if isinstance(body, str):
            await route.fulfill(
                status=status,
                headers={
                    "Content-Type": "text/csv",
                    "Content-Disposition": 'attachment; filename="results.csv"',
                },
                body=body,
            )
        elif body is None:
            await route.fulfill(status=status)
        else:
            ctype = "application/problem+json" if status >= 400 else "application/json"
            await route.fulfill(
                status=status, headers={"Content-Type": ctype}, body=json.dumps(body)
            )

    await page.route("**/*", handle)
