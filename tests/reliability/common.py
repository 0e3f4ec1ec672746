"""Shared by the reliability harnesses: the real server process, the flows as Teams sends them,
a ledger of what the bot acknowledged, and the checks run against the store afterwards.

Nothing here mocks the bot: activities go over HTTP into ``python -m bot`` (or the in-process
app), replies and proactive posts come back to a local fake Bot Connector, and the store is read
with the store's own read-only open.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web

from bot.config import DEFAULT_SCHOOL_CONFIG, local_key_path
from dialogs.ports import StoreCorrupted
from policy.audit import AuditEntry
from store.crypto import RecordCipher, parse_key
from store.tinydb_layout import parse_journal
from store.tinydb_store import TinyDbStore
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    IT,
    IT_CHANNEL,
    ROOT,
    TEACHER,
    FakeConnector,
    card_action,
    card_texts,
    dm,
    visible_text,
)

SCHOOL_ZONE = ZoneInfo("Europe/London")
#: A concern or filter-request reference anywhere in a card.
REF = re.compile(r"\b(?:OSC|FLT)-\d{4}-\d{4,}\b")
#: The first lines of the cards that tell a user their item was saved.
RECEIVED = re.compile(r"^(?:Received|Sent): ((?:OSC|FLT)-\d{4}-\d{4,})$")


# ----- the real server process -----------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def round_the_clock_school(folder: Path) -> Path:
    """The demo school's file with the DSL and deputies on call at every hour (no rota, and
    they are also the out-of-hours cover), written into ``folder``.

    The harness's bots run on the real clock: with the demo school's rota, an urgent concern at
    night goes to whoever is on call rather than to the DSL and deputies, so what a concern owes
    would depend on the hour the test runs. With this school it never does.
    """
    text = DEFAULT_SCHOOL_CONFIG.read_text(encoding="utf-8")
    text = text.replace('out_of_hours = ["headteacher"]', 'out_of_hours = ["dsl", "deputy_dsl"]')
    rota = re.compile(r"^\[\[on_call\.rota\]\]\n(?:(?!\n\[|\n#).*\n?)*", re.M)
    text, removed = rota.subn("", text)
    assert removed and 'out_of_hours = ["dsl", "deputy_dsl"]' in text, "the demo school changed"
    path = folder / "school-round-the-clock.toml"
    path.write_text(text, encoding="utf-8")
    return path


def bot_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment ``python -m bot`` runs with: local mode, this data folder and port, and
    the demo school with the DSL and deputies on call round the clock
    (``round_the_clock_school``)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("Microsoft")
        and k not in {"BOT_MODE", "HOST", "PORT", "BOT_DATA_DIR", "LOG_FILE", "DIRECTORY"}
    }
    env.update(
        BOT_DATA_DIR=str(data_dir),
        PORT=str(port),
        LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
        # The bot's own warnings (asyncio's "Unclosed client session" among them) must reach
        # the log; -W default shows ResourceWarnings too.
        PYTHONWARNINGS="default",
        SCHOOL_CONFIG=str(round_the_clock_school(data_dir.parent)),
    )
    env.update(extra)
    return env


def rss_kib(pid: int) -> int:
    """Resident set size of ``pid`` in KiB (``VmRSS`` in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def open_fds(pid: int) -> int:
    """How many file descriptors ``pid`` has open (entries in /proc/<pid>/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def holds_file(pid: int, path: Path) -> bool:
    """Whether ``pid`` has ``path`` open (a cheap sign the store is being opened)."""
    target = str(path)
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for name in names:
        try:
            if os.readlink(f"/proc/{pid}/fd/{name}") == target:
                return True
        except OSError:
            continue
    return False


class BotProcess:
    """``python -m bot`` as ``script/server`` runs it, with its output appended to a log file."""

    def __init__(self, data_dir: Path, log_path: Path, *, port: int | None = None, **env: str):
        self.data_dir = data_dir
        self.log_path = log_path
        self.port = port or free_port()
        self.env = bot_env(data_dir, self.port, **env)
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        """Start the process (returns at once; see ``wait_ready``)."""
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot"],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until /healthz answers 200.

        Raises:
            ProcessExited: the process stopped first (the store refused, or a crash).
        """
        assert self.process is not None
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    self._close_log()
                    raise ProcessExited(self.process.returncode, self.log_tail())
                try:
                    async with session.get(f"{self.base}/healthz") as response:
                        if response.status == 200:
                            return
                except (aiohttp.ClientError, TimeoutError):
                    pass
                await asyncio.sleep(0.02)
        raise TimeoutError(f"the bot did not answer /healthz within {timeout}s")

    def kill9(self) -> None:
        """``kill -9``: no clean-up of any kind runs in the bot."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._close_log()

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait (aiohttp closes the app: outbox stopped, store closed)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._close_log()
        return int(self.process.returncode)

    async def astop(self, timeout: float = 30.0) -> int:
        """``stop`` without blocking the event loop (the fake connector in this process must
        keep answering the bot while it shuts down)."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
            deadline = time.monotonic() + timeout
            while self.process.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=30)
        self._close_log()
        return int(self.process.returncode)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


class ProcessExited(RuntimeError):
    """The bot process stopped while it was expected to be serving."""

    def __init__(self, status: int, output: str) -> None:
        super().__init__(f"the bot exited with status {status}:\n{output}")
        self.status = status
        self.output = output


async def healthz(session: aiohttp.ClientSession, base: str) -> dict[str, Any]:
    async with session.get(f"{base}/healthz") as response:
        body: dict[str, Any] = await response.json()
        return body


async def post_activity(
    session: aiohttp.ClientSession, base: str, activity: dict[str, Any]
) -> tuple[int, Any]:
    """POST an activity as Teams does; returns (status, JSON body or None)."""
    async with session.post(f"{base}/api/messages", json=activity) as response:
        text = await response.text()
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = text
        return response.status, body


# ----- the flows, as Teams sends them -----------------------------------------------------------


def school_today() -> date:
    """Today at the school (the real process uses the real clock)."""
    return datetime.now(SCHOOL_ZONE).date()


#: Concern categories the harnesses use, and whether the report says a child is at risk now.
CONCERN_KINDS: dict[str, bool] = {
    "cyberbullying": False,
    "grooming": True,
    "filtering_breach": False,
}


def concern_expected(category: str, urgent: bool) -> set[str]:
    """The conversations a new concern's cards go to (policy routing for these categories)."""
    channels = {DSL_CHANNEL, IT_CHANNEL} if category == "filtering_breach" else {DSL_CHANNEL}
    alerts = {dm(DSL), dm(DEPUTY_DSL)} if urgent else set()
    return channels | alerts


def concern_submit(
    service_url: str, token: str, category: str, *, urgent: bool, on: date | None = None
) -> dict[str, Any]:
    """A teacher's concern.submit click (the form id is new, as a fresh form would carry)."""
    fields = {
        "verb": "concern.submit",
        "v": 1,
        "category": category,
        "form": uuid.uuid4().hex,
        "immediate_risk": "yes" if urgent else "no",
        "involved": "A pupil (8B)",
        "year_group": "Year 8",
        "what_happened": f"Harness item {token}: messages at night asking to meet",
        "where": "A messaging app",
        "url": "",
        "happened_on": (on or school_today() - timedelta(days=1)).isoformat(),
        "actions_taken": "Phone kept in the office",
    }
    return card_action(TEACHER, "concern.submit", service_url, data=fields)


def concern_start(service_url: str, category: str) -> dict[str, Any]:
    """Step 2 of reporting: open the form for a category."""
    data = {"verb": "concern.start", "v": 1, "step": "details", "category": category}
    return card_action(TEACHER, "concern.start", service_url, data=data)


def filter_submit(service_url: str, token: str, *, today: date | None = None) -> dict[str, Any]:
    """A teacher's filter.submit click for a games site (not sensitive: IT decides)."""
    start = today or school_today()
    fields = {
        "verb": "filter.submit",
        "v": 1,
        "form": uuid.uuid4().hex,
        "site": f"www.physics-game-{token.lower()}.example/play",
        "blocked_category": "games",
        "audience": "class",
        "audience_detail": "10B",
        "reason": "Pupils will test the physics simulation game we built in Computing this week.",
        "topic": f"Computing {token}",
        "start": start.isoformat(),
        "end": (start + timedelta(days=4)).isoformat(),
        "supervised": "yes",
        "age_appropriate": "yes",
    }
    return card_action(TEACHER, "filter.submit", service_url, data=fields)


def filter_start(service_url: str) -> dict[str, Any]:
    return card_action(TEACHER, "filter.start", service_url)


def acknowledge(service_url: str, ref: str, version: int = 1) -> dict[str, Any]:
    """The DSL's Acknowledge click on a concern's channel card."""
    data = {"verb": "concern.ack", "v": 1, "ref": ref, "ver": version}
    return card_action(
        DSL, "concern.ack", service_url, data=data, scope="channel", conversation_id=DSL_CHANNEL
    )


def approve(service_url: str, ref: str, version: int = 1) -> dict[str, Any]:
    """IT's Approve click on a filter request's channel card."""
    data = {"verb": "filter.approve", "v": 1, "ref": ref, "ver": version}
    return card_action(
        IT, "filter.approve", service_url, data=data, scope="channel", conversation_id=IT_CHANNEL
    )


def help_click(service_url: str, who: str = TEACHER) -> dict[str, Any]:
    return card_action(who, "help", service_url, data={"verb": "help", "v": 1})


def invoke_card(status: int, body: Any) -> dict[str, Any] | None:
    """The card an invoke answered with (None unless it was 200 with a card)."""
    if status != 200 or not isinstance(body, dict):
        return None
    if body.get("type") != "application/vnd.microsoft.card.adaptive":
        return None
    value = body.get("value")
    return value if isinstance(value, dict) else None


def received_ref(status: int, body: Any) -> str | None:
    """The reference on a "Received: OSC-…" / "Sent: FLT-…" card, else None."""
    card = invoke_card(status, body)
    if card is None:
        return None
    texts = card_texts(card)
    found = RECEIVED.match(texts[0]) if texts else None
    return found.group(1) if found else None


def shows_status(status: int, body: Any, ref: str, words: str) -> bool:
    """Whether an invoke answered 200 with ``ref``'s card showing ``words`` (e.g. its status)."""
    card = invoke_card(status, body)
    if card is None:
        return False
    text = visible_text(card)
    return ref in text and words in text


ACKNOWLEDGED = "Status Acknowledged"
APPROVED = "Status Approved"


# ----- what the Bot Connector received ---------------------------------------------------------


@dataclass
class Post:
    """One message the bot posted, as the connector saw it."""

    conversation: str
    refs: tuple[str, ...]
    heading: str
    at: float  # time.monotonic()

    @property
    def kind(self) -> str:
        """The heading with references taken out: which card this is, for any item."""
        return REF.sub("<ref>", self.heading)


class RecordingConnector(FakeConnector):
    """The fake Bot Connector, also noting when each post it took arrived (monotonic seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.post_times: list[float] = []
        self.update_count = 0

    async def _reply(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()  # the bot had sent the request by now
        response = await super()._reply(request)
        if response.status < 300:
            self.post_times.append(arrived)
        return response

    async def _update(self, request: web.Request) -> web.Response:
        response = await super()._update(request)
        if response.status < 300:
            self.update_count += 1
        return response

    def deliveries(self, conversations: set[str] | None = None) -> list[Post]:
        """Every card posted (to ``conversations`` if given), with the references it names."""
        found = []
        for activity, at in zip(self.posted, self.post_times, strict=False):
            if conversations is not None and activity["_conversation"] not in conversations:
                continue
            for attachment in activity.get("attachments") or []:
                content = attachment.get("content") or {}
                texts = visible_text(content).splitlines() if isinstance(content, dict) else []
                refs = tuple(sorted(set(REF.findall(json.dumps(content)))))
                found.append(Post(activity["_conversation"], refs, texts[0] if texts else "", at))
        return found


def outbound_conversations() -> set[str]:
    """The conversations proactive (outbox) messages go to in these harnesses."""
    return {DSL_CHANNEL, IT_CHANNEL, dm(DSL), dm(DEPUTY_DSL), dm(TEACHER)}


@dataclass
class DeliveryCount:
    """Cards per (conversation, item, kind of card): exactly one each is the goal."""

    copies: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)

    @classmethod
    def of(cls, posts: list[Post]) -> DeliveryCount:
        copies: dict[tuple[str, str, str], list[float]] = defaultdict(list)
        for post in posts:
            for ref in post.refs:
                copies[(post.conversation, ref, post.kind)].append(post.at)
        return cls(dict(copies))

    def to(self, conversation: str, ref: str) -> int:
        """Distinct cards about ``ref`` in ``conversation``."""
        return sum(1 for (c, r, _k) in self.copies if c == conversation and r == ref)

    def duplicates(self) -> dict[tuple[str, str, str], list[float]]:
        return {key: times for key, times in self.copies.items() if len(times) > 1}

    @property
    def extra_copies(self) -> int:
        return sum(len(times) - 1 for times in self.copies.values())


# ----- the store, checked from outside -----------------------------------------------------------


def scan_files(data_dir: Path) -> list[str]:
    """Every store file that cannot be read as the store would read it (empty list: all fine).

    TinyDB files must be whole JSON and the journal must read (a torn last entry is allowed:
    never acknowledged); every complete audit line must be JSON; a partial last audit line is
    allowed only with a journal (the store then repairs it).
    """
    problems = []
    if not data_dir.exists():
        return problems
    journal = data_dir / "journal.json"
    if journal.exists():
        try:
            parse_journal(journal, journal.read_bytes())
        except StoreCorrupted as exc:
            problems.append(f"journal.json: {str(exc).split('. ')[0]}")
    for path in [data_dir / "system.json", *sorted(data_dir.glob("records/*.json"))]:
        if not path.exists():
            continue
        try:
            value = json.loads(path.read_bytes())
            if not isinstance(value, dict):
                problems.append(f"{path.relative_to(data_dir)}: not a TinyDB document")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            problems.append(f"{path.relative_to(data_dir)}: {exc.__class__.__name__}")
    audit = data_dir / "audit.jsonl"
    if audit.exists():
        raw = audit.read_bytes()
        lines = raw.split(b"\n")
        torn = lines.pop() if not raw.endswith(b"\n") else b""
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except ValueError:
                problems.append(f"audit.jsonl line {number}: not JSON")
        if torn and not journal.exists():
            problems.append("audit.jsonl: partial last entry and no journal to explain it")
    return problems


@dataclass
class StoreView:
    """What a read-only open of the store shows."""

    concerns: list[dict[str, Any]]
    filters: list[dict[str, Any]]
    outbox: int
    audit: list[AuditEntry]
    chain_ok: bool
    chain_problem: str

    def by_token(self, token: str, kind: str) -> list[dict[str, Any]]:
        items = self.concerns if kind == "concern" else self.filters
        field_name = "what_happened" if kind == "concern" else "topic"
        return [i for i in items if f" {token}" in f" {i['data'].get(field_name, '')}"]

    def audit_count(self, item: str, action: str) -> int:
        return sum(
            1 for e in self.audit if e.item == item and e.action == action and e.outcome == "ok"
        )


def local_cipher(data_dir: Path) -> RecordCipher | None:
    """The cipher for the key local mode made beside ``data_dir`` (None before it has one)."""
    key_file = local_key_path(data_dir.resolve())
    if not key_file.exists():
        return None
    return RecordCipher([parse_key(key_file.read_text(encoding="ascii"))])


async def read_store(data_dir: Path) -> StoreView:
    """Open the store read-only (as reports do while the bot runs) and read everything."""
    store = await TinyDbStore.open(data_dir, read_only=True, cipher=local_cipher(data_dir))
    try:
        concerns = await store.find("concern")
        filters = await store.find("filter_request")
        outbox = await store.find("outbox")
        audit = await store.audit_log()
        check = await store.verify_audit()
    finally:
        await store.close()

    def plain(records: list[Any]) -> list[dict[str, Any]]:
        return [{"id": r.id, "version": r.version, "data": r.data} for r in records]

    return StoreView(
        plain(concerns), plain(filters), len(outbox), audit, check.ok, check.problem or ""
    )


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def count_lines(text: str, needle: str) -> int:
    return sum(1 for line in text.splitlines() if needle in line)
