"""The hand-off rules (issue 20): who may hand off, the structured record and its CSV, the
signature, the settings a school file may hold, and hand-offs in the governors' report."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import DEFAULT_SCHOOL_CONFIG, load_school_policy
from cards.concern import channel_card, detail_card
from cards.handoff import handoff_line, pack_card, pack_html
from policy.concerns import Concern, RiskAnswer, Source, acknowledge, close, record_action
from policy.handoff import (
    CSV_COLUMNS,
    DEFAULT_SYSTEM,
    HANDOFF_EVENT,
    SCHEMA,
    Handoff,
    handoff_event_text,
    handoff_problems,
    handoff_record,
    headers,
    may_hand_off,
    record_csv,
    record_json,
    secret_problem,
    signature,
    signature_matches,
)
from policy.reporting import governors_report, range_period, report_as_dict
from policy.roles import Person, Role
from policy.school_checks import school_problems
from tests.support import assert_valid_card, visible_text

SCHOOL = load_school_policy(DEFAULT_SCHOOL_CONFIG)
LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 12, 6, 14, 2, tzinfo=UTC)
JANE = Person("dsl-1", "Jane Smith", frozenset({Role.DSL, Role.STAFF}))
TOM = Person("deputy-1", "Tom Hughes", frozenset({Role.DEPUTY_DSL, Role.STAFF}))
TEACHER = Person("teacher-1", "Daniel Okafor", frozenset({Role.STAFF}))
SECRET = "9c1f0e7b3a5d2c4e6f8a0b1c3d5e7f9a2b4c6d8e"


def concern(n: int = 1, *, what: str = "Messages at night", at: datetime = T0) -> Concern:
    return Concern(
        ref=f"OSC-2026-{n:04d}",
        source=Source.STAFF,
        category="cyberbullying",
        urgent=False,
        reporter_id=TEACHER.id,
        reporter_name=TEACHER.name,
        created_at=at - timedelta(days=1),
        year_group="Year 8",
        involved="Poppy (8B)",
        what_happened=what,
        where="A messaging app",
        url="https://bad.example/page",
        happened_on="2026-12-05",
        immediate_risk=RiskAnswer.NO,
    ).with_event(TEACHER, at - timedelta(days=1), "reported", "Reported")


def handed_off(c: Concern, system: str = "MyConcern", at: datetime = T0) -> Concern:
    return c.with_event(JANE, at, HANDOFF_EVENT, handoff_event_text(system))


def record_of(c: Concern, handoff_id: str = "h-1") -> dict[str, object]:
    return handoff_record(
        c,
        handoff_id=handoff_id,
        system="MyConcern",
        school_name="Oakfield Academy",
        category_id="cyberbullying",
        category_label="Cyberbullying",
        kcsie_group="Conduct",
        by=JANE,
        at=T0,
        zone=LONDON,
    )


def worked(what: str = "Messages at night") -> Concern:
    c = acknowledge(concern(what=what), JANE, T0 - timedelta(hours=20))
    c = record_action(c, JANE, "parents_informed", "Mum called", T0 - timedelta(hours=19))
    c = close(c, JANE, "resolved_in_school", "Thank you", T0 - timedelta(hours=1))
    return handed_off(c)


# ----- who -------------------------------------------------------------------------------------


def test_only_the_dsl_may_hand_off() -> None:
    assert may_hand_off(JANE)
    assert not may_hand_off(TOM)
    assert not may_hand_off(TEACHER)
    assert not may_hand_off(Person("p", "Pupil", frozenset({Role.PUPIL, Role.DSL})))


# ----- the structured record -------------------------------------------------------------------


def test_the_record_holds_the_concern_its_actions_and_chronology_in_school_time() -> None:
    record = record_of(worked())

    assert record["schema"] == SCHEMA and record["schema_version"] == 1
    assert record["handoff"] == {
        "id": "h-1",
        "system": "MyConcern",
        "school": "Oakfield Academy",
        "handed_off_at": "2026-12-06T14:02:00+00:00",
        "handed_off_by": {"id": JANE.id, "name": "Jane Smith"},
    }
    body = record["concern"]
    assert isinstance(body, dict)
    assert body["reference"] == "OSC-2026-0001"
    assert body["category"] == {
        "id": "cyberbullying",
        "label": "Cyberbullying",
        "kcsie_group": "Conduct",
    }
    assert body["outcome"] == {"id": "resolved_in_school", "label": "Resolved in school"}
    assert body["status"] == "closed"
    assert record["actions"] == [{"id": "parents_informed", "label": "Parents or carers informed"}]
    chronology = record["chronology"]
    assert isinstance(chronology, list)
    assert [e["kind"] for e in chronology] == [
        "reported",
        "acknowledged",
        "action",
        "closed",
        "handoff",
    ]
    assert [e["number"] for e in chronology] == [1, 2, 3, 4, 5]


def test_summer_times_carry_the_british_summer_time_offset() -> None:
    summer = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
    record = handoff_record(
        concern(at=summer),
        handoff_id="h",
        system="CPOMS",
        school_name="S",
        category_id="other",
        category_label="Other",
        kcsie_group="Other",
        by=JANE,
        at=summer,
        zone=LONDON,
    )
    handoff = record["handoff"]
    assert isinstance(handoff, dict)
    assert handoff["handed_off_at"] == "2026-06-10T10:00:00+01:00"


def test_the_json_is_the_same_bytes_every_time_and_round_trips() -> None:
    record = record_of(worked())
    assert record_json(record) == record_json(record_of(worked()))
    assert json.loads(record_json(record)) == record


def test_the_csv_has_one_row_per_chronology_entry_and_no_formulas() -> None:
    rows = list(csv.DictReader(io.StringIO(record_csv(record_of(worked(what="=HYPERLINK(1)"))))))

    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["entry_number"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert {r["reference"] for r in rows} == {"OSC-2026-0001"}
    assert {r["what_happened"] for r in rows} == {"'=HYPERLINK(1)"}
    assert rows[-1]["entry_kind"] == "handoff" and rows[-1]["entry_by"] == "Jane Smith"
    assert rows[0]["outcome"] == "Resolved in school"
    assert rows[0]["actions_recorded"] == "Parents or carers informed"


# ----- signing ---------------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"a": 1}'
    expected = hmac.new(SECRET.encode(), b"1796652120." + body, hashlib.sha256).hexdigest()

    assert signature(SECRET, "1796652120", body) == f"sha256={expected}"
    assert signature_matches(SECRET, "1796652120", body, f"sha256={expected}")


@pytest.mark.parametrize(
    ("timestamp", "body", "secret"),
    [
        ("1796652121", b'{"a": 1}', SECRET),  # another time
        ("1796652120", b'{"a": 2}', SECRET),  # another body
        ("1796652120", b'{"a": 1}', SECRET[::-1]),  # another secret
    ],
)
def test_any_change_breaks_the_signature(timestamp: str, body: bytes, secret: str) -> None:
    good = signature(SECRET, "1796652120", b'{"a": 1}')
    assert not signature_matches(secret, timestamp, body, good)


def test_a_post_carries_timestamp_signature_and_idempotency_key() -> None:
    sent = headers(SECRET, "1796652120", b"{}", "key-1")
    assert sent["X-Handoff-Timestamp"] == "1796652120"
    assert sent["Idempotency-Key"] == "key-1"
    assert signature_matches(SECRET, "1796652120", b"{}", sent["X-Handoff-Signature"])
    assert SECRET not in json.dumps(sent)


# ----- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "words"),
    [
        ("", "not set"),
        ("abc", "too short"),
        ("change-me-change-me-change-me-change-me", "placeholder"),
        ("a" * 40, "placeholder"),
    ],
)
def test_a_weak_secret_is_refused(secret: str, words: str) -> None:
    problem = secret_problem(secret)
    assert problem is not None and words in problem


def test_a_random_secret_is_accepted() -> None:
    assert secret_problem(SECRET) is None


def test_no_system_named_gives_plain_words_and_no_webhook() -> None:
    handoff = Handoff()
    assert handoff.system_name == DEFAULT_SYSTEM == "your safeguarding records system"
    assert not handoff.webhook
    assert handoff_problems(handoff) == []


@pytest.mark.parametrize(
    ("handoff", "words"),
    [
        (Handoff(webhook_url="https://records.example.org/hook"), "webhook_secret_env"),
        (Handoff(webhook_secret_env="HANDOFF_SECRET"), "webhook_url as well"),
        (
            Handoff(webhook_url="https://u:p@records.example.org/", webhook_secret_env="HANDOFF_S"),
            "never put a user name or password",
        ),
        (
            Handoff(webhook_url="ftp://records.example.org/", webhook_secret_env="HANDOFF_S"),
            "not a web",
        ),
        (
            Handoff(webhook_url="https://records.example.org/", webhook_secret_env="s3cr3t value"),
            "not an environment variable name",
        ),
    ],
)
def test_webhook_settings_that_do_not_fit_are_refused_with_what_to_fix(
    handoff: Handoff, words: str
) -> None:
    problems = school_problems(replace(SCHOOL, handoff=handoff))
    assert any(words in p for p in problems), problems


# ----- cards -----------------------------------------------------------------------------------


def test_the_cards_say_who_handed_it_off_to_which_system_and_when() -> None:
    c = handed_off(concern())
    category = SCHOOL.category("cyberbullying")
    assert category is not None
    line = "Handed off to MyConcern by Jane Smith at Sun 6 Dec 2026, 14:02"
    assert handoff_line(c, LONDON) == line
    for shown in (
        channel_card(c, category, SCHOOL, version=2),
        detail_card(c, category, SCHOOL, version=2),
    ):
        assert_valid_card(shown)
        assert line in visible_text(shown)
    assert handoff_line(concern(), LONDON) is None
    assert "Handed off" not in visible_text(channel_card(concern(), category, SCHOOL, version=1))


def test_the_pack_card_offers_the_three_files() -> None:
    shown = pack_card(
        "OSC-2026-0001",
        system="MyConcern",
        handed_off="Handed off to MyConcern by Jane Smith at Sun 6 Dec 2026, 14:02",
        document_url="https://bot.example/exports/a",
        json_url="https://bot.example/exports/b",
        csv_url="https://bot.example/exports/c",
    )
    assert_valid_card(shown)
    assert [a["url"] for a in shown["actions"]] == [
        "https://bot.example/exports/a",
        "https://bot.example/exports/b",
        "https://bot.example/exports/c",
    ]


def test_the_printable_pack_states_the_handoff_under_its_title() -> None:
    document = "<html><h1>Chronology of concern X</h1>\n<p>rest</p></html>"
    shown = pack_html(document, system="My<Concern>", handed_off="Handed off", handoff_id="h-1")
    assert shown.index("</h1>") < shown.index("Hand-off to My&lt;Concern&gt;") < shown.index("rest")
    assert "h-1" in shown


# ----- governors' report -----------------------------------------------------------------------


def _report(concerns: list[Concern]) -> dict[str, str]:
    school = replace(SCHOOL, handoff=Handoff(system="MyConcern"))
    report = governors_report(
        school=school,
        period=range_period(T0.date() - timedelta(days=30), T0.date()),
        generated_at=T0,
        concerns=concerns,
        filter_requests=[],
        call_checks=[],
        recordings=[],
    )
    text = json.dumps(report_as_dict(report))
    assert "Jane" not in text and "OSC-" not in text
    table = report.table("handoffs_by_system")
    return {c.label: c.text for c in table.cells} | {"Total": table.total.text}


def test_the_governors_report_counts_handoffs_in_the_period_by_system() -> None:
    concerns = [handed_off(concern(n)) for n in range(1, 5)]  # four to MyConcern
    concerns.append(handed_off(concern(6), at=T0 - timedelta(days=200)))  # before the period
    concerns.append(concern(7))  # never handed off

    assert _report(concerns) == {"MyConcern": "4", "Total": "4"}


def test_a_small_count_of_handoffs_is_hidden_and_cannot_be_worked_out() -> None:
    concerns = [handed_off(concern(n)) for n in range(1, 5)]
    concerns.append(handed_off(concern(5), system="CPOMS"))  # one to an earlier system

    assert _report(concerns) == {"MyConcern": "not shown", "CPOMS": "fewer than 3", "Total": "5"}
