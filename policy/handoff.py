"""Hand-off to the school's safeguarding record system (CPOMS, MyConcern or its own).

Schools keep their child-protection files in a records system; 004 requires MyConcern. So that
no concern is typed twice, the DSL can hand a concern off: the bot makes a hand-off pack (the
concern, its chronology and the actions, as a printable document and as JSON and CSV laid out
for import) for the DSL alone, in their private chat, and records on the concern who handed it
off, to which system and when (001 §1.3.2 "record of concerns/incidents and actions"; brief,
"Data": "exportable for the DSL").

Optionally the same structured record is posted to a webhook the school or trust runs (an
HTTPS address and a secret, the secret never in the school file: only the name of the
environment variable that holds it). Each post is signed (HMAC-SHA256 over the timestamp and
the body) and carries an idempotency key, so the receiver can check who sent it and keep it
once whatever the network does.

Neither CPOMS nor MyConcern publishes an import format or API for third parties (searched: no
public specification), so the layout is this module's own, documented in ``docs/handoff.md``:
one JSON object per hand-off (``SCHEMA``) and a CSV with one row per chronology entry.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, ClassVar
from urllib.parse import urlsplit

from policy.concerns import ACTIONS, OUTCOMES, REFERRALS, UKCIS_CRITERIA, Concern, Event
from policy.roles import Person, Role
from policy.text import spreadsheet_cell

#: What a school that names no system sees on the button and the card.
DEFAULT_SYSTEM = "your safeguarding records system"
#: The structured record's schema name and version (``docs/handoff.md``).
SCHEMA = "online-safety-bot/handoff"
SCHEMA_VERSION = 1
#: The chronology entry a hand-off adds to the concern.
HANDOFF_EVENT = "handoff"
#: The headers of a webhook post.
SIGNATURE_HEADER = "X-Handoff-Signature"
TIMESTAMP_HEADER = "X-Handoff-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
#: The shortest webhook secret accepted (characters).
MIN_SECRET_LENGTH = 32
#: Secrets copied from an example, which anyone could know.
_PLACEHOLDERS = ("change", "example", "secret", "password", "replace", "xxxx", "todo")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,63}$")

#: Columns of the hand-off CSV: one row per chronology entry, the concern repeated on each.
CSV_COLUMNS = (
    "reference",
    "handoff_id",
    "system",
    "entry_number",
    "entry_at",
    "entry_by",
    "entry_kind",
    "entry_text",
    "category",
    "kcsie_group",
    "urgency",
    "status",
    "reported_at",
    "reported_by",
    "source",
    "year_group",
    "people_involved",
    "what_happened",
    "where",
    "web_address",
    "happened_on",
    "actions_recorded",
    "outcome",
    "closed_at",
    "handed_off_by",
    "handed_off_at",
)


@dataclass(frozen=True, slots=True)
class Handoff:
    """The school's record system and, optionally, its signed webhook (school file
    ``[handoff]``)."""

    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}

    #: The system's name as staff know it ("CPOMS", "MyConcern"); empty: "your safeguarding
    #: records system".
    system: str = ""
    #: Where to post each hand-off's structured record (HTTPS); empty: no webhook.
    webhook_url: str = ""
    #: The NAME of the environment variable holding the webhook's secret (never the secret).
    webhook_secret_env: str = ""

    def __post_init__(self) -> None:
        if len(self.system) > 60:
            raise ValueError("handoff.system must be at most 60 characters")

    @property
    def system_name(self) -> str:
        """The system's name for cards and records."""
        return self.system.strip() or DEFAULT_SYSTEM

    @property
    def webhook(self) -> bool:
        """Whether hand-offs are also posted to a webhook."""
        return bool(self.webhook_url.strip())


def handoff_problems(handoff: Handoff) -> list[str]:
    """Every way the ``[handoff]`` settings do not fit together, in words that say what to fix
    (the secret itself and HTTPS outside local mode are checked at start-up: ``bot.config``)."""
    problems: list[str] = []
    url = handoff.webhook_url.strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            problems.append(
                f"handoff.webhook_url: {url!r} is not a web address; give the https:// address "
                "of the receiver"
            )
        elif parts.username or parts.password:
            problems.append(
                "handoff.webhook_url: never put a user name or password in the address; the "
                "secret goes in the environment variable named by handoff.webhook_secret_env"
            )
        if not handoff.webhook_secret_env:
            problems.append(
                "handoff.webhook_secret_env: name the environment variable that holds the "
                "webhook's secret (for example HANDOFF_WEBHOOK_SECRET); every post is signed"
            )
    elif handoff.webhook_secret_env:
        problems.append(
            "handoff.webhook_secret_env: set handoff.webhook_url as well, or remove this line"
        )
    if handoff.webhook_secret_env and not _ENV_NAME.match(handoff.webhook_secret_env):
        problems.append(
            f"handoff.webhook_secret_env: {handoff.webhook_secret_env[:64]!r} is not an "
            "environment variable name (capital letters, digits and _); put the secret itself "
            "in that variable, never in this file"
        )
    return problems


def secret_problem(secret: str) -> str | None:
    """What is wrong with a webhook secret, or None: it must be set, long and not a
    placeholder copied from an example."""
    if not secret:
        return "is not set; the hand-off webhook needs its secret to sign every post"
    if len(secret) < MIN_SECRET_LENGTH:
        return (
            f"is too short ({len(secret)} characters); use at least {MIN_SECRET_LENGTH}, such "
            'as the output of: python -c "import secrets; print(secrets.token_hex(32))"'
        )
    lowered = secret.lower()
    if any(word in lowered for word in _PLACEHOLDERS) or len(set(secret)) < 8:
        return "looks like a placeholder; make a random one and give it to the receiver too"
    return None


def may_hand_off(person: Person) -> bool:
    """Only the DSL hands a concern off to the school's records (004 §2: the DSL keeps the
    child-protection file); deputies and everyone else are refused."""
    return not person.is_pupil and Role.DSL in person.roles


def handoff_event_text(system: str) -> str:
    """The chronology line a hand-off adds."""
    return f"Handed off to {system}"


def last_handoff(concern: Concern) -> Event | None:
    """The concern's latest hand-off entry in its chronology, or None."""
    found = [e for e in concern.chronology if e.kind == HANDOFF_EVENT]
    return found[-1] if found else None


def handoffs_of(concern: Concern) -> list[tuple[datetime, str]]:
    """Every hand-off of a concern: (when, to which system)."""
    prefix = handoff_event_text("")
    return [
        (e.at, e.text[len(prefix) :] if e.text.startswith(prefix) else e.text)
        for e in concern.chronology
        if e.kind == HANDOFF_EVENT
    ]


# ---------------------------------------------------------------------------------------------
# The structured record
# ---------------------------------------------------------------------------------------------


def _iso(at: datetime | None, zone: tzinfo) -> str | None:
    return None if at is None else at.astimezone(zone).isoformat(timespec="seconds")


def handoff_record(
    concern: Concern,
    *,
    handoff_id: str,
    system: str,
    school_name: str,
    category_id: str,
    category_label: str,
    kcsie_group: str,
    by: Person,
    at: datetime,
    zone: tzinfo,
) -> dict[str, Any]:
    """The hand-off as one JSON-ready object (``docs/handoff.md``). Times are ISO 8601 in
    school time, with the offset; every id is the bot's own (Entra object ids for people)."""
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "handoff": {
            "id": handoff_id,
            "system": system,
            "school": school_name,
            "handed_off_at": _iso(at, zone),
            "handed_off_by": {"id": by.id, "name": by.name},
        },
        "concern": {
            **_reported(
                concern,
                {"id": category_id, "label": category_label, "kcsie_group": kcsie_group},
                zone,
            ),
            **_handled(concern, zone),
        },
        "actions": [{"id": a, "label": ACTIONS.get(a, a)} for a in concern.actions_done],
        "chronology": _chronology(concern, zone),
    }


def _reported(concern: Concern, category: dict[str, str], zone: tzinfo) -> dict[str, Any]:
    """The hand-off's concern as reported: what, who, where and when."""
    return {
        "reference": concern.ref,
        "source": concern.source.value,
        "category": category,
        "urgent": concern.urgent,
        "status": concern.status.value,
        "reported_at": _iso(concern.created_at, zone),
        "reported_by": {"id": concern.reporter_id, "name": concern.reporter_name},
        "happened_on": concern.happened_on or None,
        "year_group": concern.year_group,
        "people_involved": concern.involved,
        "what_happened": concern.what_happened,
        "where": concern.where,
        "web_address": concern.url,
        "immediate_risk": concern.immediate_risk.value,
        "done_before_reporting": concern.actions_taken,
        "device_group": concern.device_group or None,
        "trusted_adult": concern.trusted_adult or None,
    }


def _handled(concern: Concern, zone: tzinfo) -> dict[str, Any]:
    """The hand-off's concern as handled: acknowledged, by whom, assessed, and how it ended."""
    assessment = concern.assessment
    return {
        "acknowledged_at": _iso(concern.acknowledged_at, zone),
        "handled_by": (
            None
            if concern.handler_id is None
            else {"id": concern.handler_id, "name": concern.handler_name}
        ),
        "ukcis_assessment": (
            None
            if assessment is None
            else {
                "criteria": [
                    {"id": c, "label": UKCIS_CRITERIA.get(c, c)} for c in assessment.criteria
                ],
                "referrals": [
                    {"id": r, "label": REFERRALS.get(r, r)} for r in assessment.referrals
                ],
                "reason": assessment.reason,
            }
        ),
        "outcome": (
            None
            if concern.outcome is None
            else {"id": concern.outcome, "label": OUTCOMES.get(concern.outcome, concern.outcome)}
        ),
        "message_to_reporter": concern.outcome_message or None,
        "closed_at": _iso(concern.closed_at, zone),
    }


def _chronology(concern: Concern, zone: tzinfo) -> list[dict[str, Any]]:
    """Every line of the concern's history, oldest first, numbered from 1."""
    return [
        {
            "number": number,
            "at": _iso(event.at, zone),
            "by": {"id": event.actor_id, "name": event.actor_name},
            "kind": event.kind,
            "text": event.text,
        }
        for number, event in enumerate(sorted(concern.chronology, key=lambda e: e.at), 1)
    ]


def record_json(record: Mapping[str, Any]) -> bytes:
    """The record as the exact bytes posted and downloaded (UTF-8, keys sorted: a retry sends
    the same bytes)."""
    return json.dumps(record, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")


def _cell(value: object) -> str:
    return spreadsheet_cell("" if value is None else str(value))


def _name(person: object) -> str:
    return str(person.get("name", "")) if isinstance(person, Mapping) else ""


def record_csv(record: Mapping[str, Any]) -> str:
    """The record as CSV for import: one row per chronology entry (oldest first), the concern's
    fields repeated on every row; columns ``CSV_COLUMNS``."""
    concern = record["concern"]
    handoff = record["handoff"]
    category = concern["category"]
    outcome = concern.get("outcome")
    shared = {
        "reference": concern["reference"],
        "handoff_id": handoff["id"],
        "system": handoff["system"],
        "category": category["label"],
        "kcsie_group": category["kcsie_group"],
        "urgency": "urgent" if concern["urgent"] else "routine",
        "status": concern["status"],
        "reported_at": concern["reported_at"],
        "reported_by": _name(concern["reported_by"]),
        "source": concern["source"],
        "year_group": concern["year_group"],
        "people_involved": " ".join(str(concern["people_involved"]).split()),
        "what_happened": concern["what_happened"],
        "where": concern["where"],
        "web_address": concern["web_address"],
        "happened_on": concern["happened_on"],
        "actions_recorded": "; ".join(a["label"] for a in record["actions"]),
        "outcome": outcome["label"] if isinstance(outcome, Mapping) else "",
        "closed_at": concern["closed_at"],
        "handed_off_by": _name(handoff["handed_off_by"]),
        "handed_off_at": handoff["handed_off_at"],
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in record["chronology"]:
        row = {
            **shared,
            "entry_number": entry["number"],
            "entry_at": entry["at"],
            "entry_by": _name(entry["by"]),
            "entry_kind": entry["kind"],
            "entry_text": entry["text"],
        }
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Signing
# ---------------------------------------------------------------------------------------------


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Handoff-Signature`` value: ``sha256=`` and the hex HMAC-SHA256, keyed with the
    secret, of the timestamp header's value, a full stop and the body's exact bytes."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signature_matches(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver checks (in constant time): the header is this body's signature."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def headers(secret: str, timestamp: str, body: bytes, key: str) -> dict[str, str]:
    """The headers of one webhook post."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        IDEMPOTENCY_HEADER: key,
    }


def count_by_system(handoffs: Sequence[tuple[datetime, str]]) -> dict[str, int]:
    """How many hand-offs went to each system."""
    counts: dict[str, int] = {}
    for _, system in handoffs:
        counts[system] = counts.get(system, 0) + 1
    return dict(sorted(counts.items()))
