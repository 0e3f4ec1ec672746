"""Monitoring alerts and sensitive-lesson notices as rules (issue 21).

The DfE filtering and monitoring standards (followed by 004 "Filtering" and 000 §3.5) ask a
school to act on what its monitoring system flags, and to know when a lesson will make it flag
on purpose. These rules decide: whether an alert's request is genuine (HMAC-SHA256 over the
timestamp and the body, at most ``MAX_SKEW`` old), whether its body is our documented format
(``docs/monitoring.md``; never an image: 000 §12, 001 §9.1), whether it is urgent, which alerts
count as the same, how the DSL handles one, and whether a lesson notice explains it.
Pure: no I/O, no clock (the caller passes ``now``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from policy.errors import PolicyError
from policy.school import MONITORING_SEVERITIES, LessonTopic, Monitoring
from policy.weblinks import BadLink, normalise_url

#: How old (or how far ahead) a signed request's timestamp may be.
MAX_SKEW = timedelta(minutes=5)
#: The headers a provider sends with each alert.
PROVIDER_HEADER = "X-Monitoring-Provider"
TIMESTAMP_HEADER = "X-Monitoring-Timestamp"
SIGNATURE_HEADER = "X-Monitoring-Signature"
#: The largest alert body accepted (an alert is a few hundred bytes; no images ever).
MAX_ALERT_BODY = 16 * 1024

#: Field limits of the documented format.
LIMITS = {"id": 200, "device": 200, "category": 100, "text": 1000, "console_url": 2000}
#: Field names that would carry a picture: refused wherever they appear (never stored).
IMAGE_FIELDS = re.compile(r"screenshot|image|img|picture|photo|thumbnail|snapshot|attachment")
_DATA_URI = re.compile(r"^\s*data:", re.IGNORECASE)
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_TOP = frozenset({"id", "pupil", "device", "occurred_at", "category", "severity", "content"})
_TOP_ALL = _TOP | {"console_url"}


class Unauthorised(PolicyError):
    """The request is not from a configured provider (answered 401, nothing stored)."""

    code = "monitoring alert not authenticated"


class Malformed(PolicyError):
    """The body is not our documented alert format (answered 400, nothing stored)."""

    code = "monitoring alert malformed"


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The signature a provider sends: ``sha256=`` and the hex HMAC-SHA256 of
    ``<timestamp>.<body>`` under the provider's secret."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: bytes, timestamp: str, body: bytes, signature: str, now: datetime) -> None:
    """Check a request's signature and age.

    Raises:
        Unauthorised: no secret, no or bad timestamp, older or newer than ``MAX_SKEW``, or a
            signature that is not this body's under this secret.
    """
    if not secret:
        raise Unauthorised("this provider has no secret configured")
    if not timestamp.isdigit() or len(timestamp) > 12:
        raise Unauthorised("missing or bad timestamp")
    sent = datetime.fromtimestamp(int(timestamp), tz=now.tzinfo)
    if abs(now - sent) > MAX_SKEW:
        raise Unauthorised("stale timestamp")
    if not signature or not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        raise Unauthorised("bad signature")


class Severity(StrEnum):
    """An alert's severity on our scale (providers map theirs onto it)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


assert tuple(s.value for s in Severity) == MONITORING_SEVERITIES


class ContentKind(StrEnum):
    """What the pupil did that was flagged."""

    TYPED = "typed"
    VIEWED = "viewed"


@dataclass(frozen=True, slots=True)
class AlertIn:
    """One alert as a provider sent it, checked."""

    alert_id: str
    pupil_id: str
    pupil_upn: str
    device: str
    occurred_at: datetime
    category: str
    severity: Severity
    kind: ContentKind
    text: str
    console_url: str | None


def _string(data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise Malformed(f"{where}{key}: a non-empty string is required")
    limit = LIMITS.get(key, 200)
    if len(value) > limit:
        raise Malformed(f"{where}{key}: at most {limit} characters")
    if _DATA_URI.match(value):
        raise Malformed(f"{where}{key}: images and files are never accepted")
    return " ".join(value.split()) if key != "text" else value.strip()


def _refuse_images(value: Any, path: str = "") -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if IMAGE_FIELDS.search(str(key).casefold()):
                raise Malformed(f"{path}{key}: screenshots and images are never accepted")
            _refuse_images(inner, f"{path}{key}.")
    elif isinstance(value, list):
        raise Malformed(f"{path.rstrip('.')}: lists are not part of the format")


def _unknown(data: Mapping[str, Any], known: frozenset[str], where: str) -> None:
    extra = sorted(str(k) for k in data if k not in known)
    if extra:
        raise Malformed(f"{where}{extra[0]}: not part of the format (see docs/monitoring.md)")


def parse_alert(data: Any) -> AlertIn:
    """Check a body against the documented format (``docs/monitoring.md``).

    Raises:
        Malformed: anything missing, too long, of the wrong type or not in the format; any
            field that would carry an image.
    """
    if not isinstance(data, Mapping):
        raise Malformed("the body must be one JSON object")
    _refuse_images(data)
    _unknown(data, _TOP_ALL, "")
    missing = sorted(_TOP - set(data))
    if missing:
        raise Malformed(f"{missing[0]}: required")
    pupil_id, upn = _alert_pupil(data["pupil"])
    kind, text = _alert_content(data["content"])
    try:
        severity = Severity(data["severity"])
    except ValueError:
        raise Malformed(f"severity: one of {', '.join(MONITORING_SEVERITIES)}") from None
    occurred = _alert_time(data["occurred_at"])
    console = _console_link(data)
    return AlertIn(
        alert_id=_string(data, "id", ""),
        pupil_id=pupil_id,
        pupil_upn=upn.lower(),
        device=_string(data, "device", ""),
        occurred_at=occurred,
        category=_string(data, "category", ""),
        severity=severity,
        kind=kind,
        text=text,
        console_url=console or None,
    )


def _alert_pupil(pupil: Any) -> tuple[str, str]:
    """The alert's pupil: their directory id (a GUID) and/or UPN, at least one of them."""
    if not isinstance(pupil, Mapping):
        raise Malformed("pupil: an object with id and/or upn is required")
    _unknown(pupil, frozenset({"id", "upn"}), "pupil.")
    pupil_id = _string(pupil, "id", "pupil.", required=False)
    upn = _string(pupil, "upn", "pupil.", required=False)
    if not pupil_id and not upn:
        raise Malformed("pupil: give the pupil's directory id or UPN")
    if pupil_id and not _GUID.fullmatch(pupil_id):
        raise Malformed("pupil.id: the pupil's Entra object id (a GUID)")
    if upn and ("@" not in upn or " " in upn):
        raise Malformed("pupil.upn: the pupil's sign-in name, like name@school.example")
    return pupil_id, upn


def _alert_content(content: Any) -> tuple[ContentKind, str]:
    """What the pupil typed or viewed: its kind and text."""
    if not isinstance(content, Mapping):
        raise Malformed("content: an object with kind and text is required")
    _unknown(content, frozenset({"kind", "text"}), "content.")
    try:
        kind = ContentKind(str(content.get("kind")))
    except ValueError:
        raise Malformed("content.kind: 'typed' or 'viewed'") from None
    return kind, _string(content, "text", "content.")


def _alert_time(raw_when: Any) -> datetime:
    """When it happened: an ISO 8601 time with its offset."""
    try:
        occurred = datetime.fromisoformat(raw_when) if isinstance(raw_when, str) else None
    except ValueError:
        occurred = None
    if occurred is None or occurred.tzinfo is None:
        raise Malformed("occurred_at: an ISO 8601 time with its offset, such as 2026-11-23T10:04Z")
    return occurred


def _console_link(data: Mapping[str, Any]) -> str:
    """The provider's console link, if given: an https link, normalised."""
    console = _string(data, "console_url", "", required=False)
    if console:
        try:
            console = normalise_url(console)
        except BadLink:
            raise Malformed("console_url: an https link to the provider's console") from None
        if not console.startswith("https://"):
            raise Malformed("console_url: an https link to the provider's console")
    return console


def is_urgent(severity: Severity, settings: Monitoring) -> bool:
    """The highest severities go to the DSL and deputies at once, as urgent concerns do
    (004 flowchart, "DO NOT DELAY"); "critical" always does."""
    return severity.value in settings.urgent


def group_key(provider: str, pupil: str, category: str) -> str:
    """What makes two alerts "identical": the same provider, pupil and category (a hash, so
    the key names nobody)."""
    text = "\x1f".join((provider, pupil.casefold(), category.casefold()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


class AlertStatus(StrEnum):
    """Where the DSL has got to with an alert."""

    NEW = "new"
    MONITORING = "monitoring"
    CONTACTED = "contacted"
    FALSE_POSITIVE = "false_positive"
    ESCALATED = "escalated"


STATUS_WORDS: dict[AlertStatus, str] = {
    AlertStatus.NEW: "New",
    AlertStatus.MONITORING: "Being monitored",
    AlertStatus.CONTACTED: "Pupil to be contacted",
    AlertStatus.FALSE_POSITIVE: "False positive",
    AlertStatus.ESCALATED: "Escalated to a concern",
}
#: Outcomes nothing more follows from on the alert itself.
FINISHED: frozenset[AlertStatus] = frozenset({AlertStatus.FALSE_POSITIVE, AlertStatus.ESCALATED})


class AlertTransitionError(PolicyError):
    """The alert cannot move that way (it is already finished, or already there)."""

    code = "alert transition not allowed"


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One line of an alert's history."""

    at: datetime
    actor_id: str
    actor_name: str
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class MonitoringAlert:
    """An alert (and the identical ones after it) for the DSL. The pupil and what they typed
    or viewed live only here; the channel card never shows them."""

    ref: str
    provider: str
    provider_alert_id: str
    pupil_id: str
    pupil_upn: str
    device: str
    category: str
    severity: Severity
    kind: ContentKind
    text: str
    console_url: str | None
    occurred_at: datetime
    received_at: datetime
    urgent: bool
    group_key: str
    #: Alerts counted on this card (this one and identical ones inside the window).
    count: int = 1
    last_at: datetime | None = None
    status: AlertStatus = AlertStatus.NEW
    #: "Expected: Year 10 lesson on extremism, notice by D. Okafor" when a notice covers it.
    expected: str = ""
    notice_ref: str = ""
    concern_ref: str = ""
    reason: str = ""
    history: tuple[AlertEvent, ...] = ()


def counted(
    alert: MonitoringAlert, at: datetime, expected: str, notice_ref: str
) -> MonitoringAlert:
    """``alert`` with one more identical alert counted on it."""
    return replace(
        alert,
        count=alert.count + 1,
        last_at=at,
        expected=alert.expected or expected,
        notice_ref=alert.notice_ref or notice_ref,
    )


def may_group(alert: MonitoringAlert, *, urgent: bool, at: datetime, window: timedelta) -> bool:
    """Whether a new identical alert at ``at`` is counted on ``alert``'s card: nobody has
    acted on it yet, it is inside the window from the first, and an urgent alert is never
    folded into a routine card."""
    return (
        alert.status is AlertStatus.NEW
        and at - alert.received_at <= window
        and (alert.urgent or not urgent)
    )


def decide_alert(
    alert: MonitoringAlert,
    to: AlertStatus,
    *,
    by_id: str,
    by_name: str,
    at: datetime,
    reason: str = "",
    concern_ref: str = "",
) -> MonitoringAlert:
    """The DSL's decision on an alert.

    Raises:
        AlertTransitionError: the alert is finished (false positive or escalated), is already
            in that state, or a false positive has no reason.
    """
    if alert.status in FINISHED:
        raise AlertTransitionError(
            f"this alert is already closed ({STATUS_WORDS[alert.status].lower()})"
        )
    if to is alert.status or to is AlertStatus.NEW:
        raise AlertTransitionError(f"it is already: {STATUS_WORDS[alert.status].lower()}")
    if to is AlertStatus.FALSE_POSITIVE and not reason.strip():
        raise AlertTransitionError("say why it is a false positive")
    text = STATUS_WORDS[to] + (f": {reason.strip()}" if reason.strip() else "")
    if concern_ref:
        text += f" ({concern_ref})"
    return replace(
        alert,
        status=to,
        reason=reason.strip() or alert.reason,
        concern_ref=concern_ref or alert.concern_ref,
        history=(*alert.history, AlertEvent(at, by_id, by_name, to.value, text)),
    )


# ----- sensitive-lesson notices ------------------------------------------------------------------

#: Longest a notice's lesson may be, and how far ahead it may be given.
MAX_LESSON = timedelta(hours=8)
MAX_AHEAD_DAYS = 60
NOTICE_LIMITS = {"class_name": 30, "reason": 300}


@dataclass(frozen=True, slots=True)
class LessonNotice:
    """A teacher's notice that a lesson will touch a sensitive topic (so monitoring alerts
    during it are expected)."""

    ref: str
    teacher_id: str
    teacher_name: str
    class_name: str
    topic: str
    topic_label: str
    day: date
    start: time
    end: time
    reason: str
    created_at: datetime


def validate_notice(
    data: Mapping[str, Any], settings: Monitoring, today: date
) -> tuple[dict[str, str], dict[str, str]]:
    """Check a notice form. Returns (cleaned values, problems by field id)."""

    def text(key: str) -> str:
        value = data.get(key)
        return " ".join(value.split()) if isinstance(value, str) else ""

    values = {k: text(k) for k in ("class_name", "topic", "day", "start", "end", "reason")}
    problems: dict[str, str] = {}
    if not values["class_name"]:
        problems["class_name"] = "Say which class (such as 10B or Year 10)."
    if settings.topic(values["topic"]) is None:
        problems["topic"] = "Choose the topic from the list."
    if not values["reason"]:
        problems["reason"] = "Say in a few words what the lesson covers."
    for key, limit in NOTICE_LIMITS.items():
        if len(values[key]) > limit:
            problems[key] = f"Please keep this under {limit} characters."
    try:
        day = date.fromisoformat(values["day"])
        if day < today:
            problems["day"] = "That date has passed."
        elif day > today + timedelta(days=MAX_AHEAD_DAYS):
            problems["day"] = f"Give notice at most {MAX_AHEAD_DAYS} days ahead."
    except ValueError:
        problems["day"] = "Give the date of the lesson."
    try:
        start, end = time.fromisoformat(values["start"]), time.fromisoformat(values["end"])
        length = datetime.combine(today, end) - datetime.combine(today, start)
        if length <= timedelta(0):
            problems["end"] = "The lesson must end after it starts."
        elif length > MAX_LESSON:
            problems["end"] = "A lesson notice covers at most 8 hours."
    except ValueError:
        problems["start"] = "Give the start and end times of the lesson."
    return values, problems


def _class_words(text: str) -> str:
    return "".join(text.casefold().split())


def covers_class(notice_class: str, form: str | None, year_group: str | None) -> bool:
    """Whether a notice's class ("10B", "Year 10") is the pupil's form or year group."""
    wanted = _class_words(notice_class)
    return bool(wanted) and wanted in {_class_words(form or ""), _class_words(year_group or "")}


def topic_matches(topic: LessonTopic, category: str) -> bool:
    """Whether a provider's category is about the topic (its id or one of its words)."""
    words = category.casefold().replace("_", " ").replace("-", " ")
    wanted = (topic.id, *topic.categories)
    return any(w.casefold().replace("_", " ").replace("-", " ") in words for w in wanted)


def notice_covers(
    notice: LessonNotice,
    topic: LessonTopic,
    *,
    category: str,
    at: datetime,
    form: str | None,
    year_group: str | None,
    zone: ZoneInfo,
) -> bool:
    """Whether an alert in ``category`` at ``at`` for a pupil of ``form``/``year_group``
    happened during the notice's lesson, for its class, on its topic."""
    local = at.astimezone(zone)
    return (
        local.date() == notice.day
        and notice.start <= local.time().replace(tzinfo=None) < notice.end
        and covers_class(notice.class_name, form, year_group)
        and topic_matches(topic, category)
    )


def short_name(name: str) -> str:
    """ "Daniel Okafor" -> "D. Okafor" (how a notice's author is shown on an alert card)."""
    parts = name.split()
    if len(parts) < 2:
        return name.strip()
    return f"{parts[0][0]}. {parts[-1]}"


def expected_words(notice: LessonNotice) -> str:
    """The line an alert card shows when a notice explains it."""
    return (
        f"Expected: {notice.class_name} lesson on {notice.topic_label}, "
        f"notice by {short_name(notice.teacher_name)}"
    )
