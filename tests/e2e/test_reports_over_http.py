"""Records the school must show, end to end over real HTTP: open items, the incident log (card
and CSV), a concern's chronology (HTML), the governors' report, and the role checks on each.

The store is seeded directly through the Store port with known names and free text ("canary"
strings), so every export can be checked against the records and for what it must not hold.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from dialogs import concern as concern_feature
from dialogs import filter_request as filter_feature
from dialogs.ports import Change, Record, Store
from dialogs.video_call import CALL_CHECK_KIND, RECORDING_KIND, REQUEST_CODEC
from policy.concerns import (
    Concern,
    RiskAnswer,
    Source,
    acknowledge,
    close,
    record_action,
)
from policy.filtering import (
    FilterRequest,
    FilterStatus,
    approve,
    mark_applied,
    mark_reblocked,
    reblock_due,
)
from policy.roles import Person, Role
from policy.video_calls import Audience, RecordingRequest, RequestStatus
from tests.conftest import Harness
from tests.support import (
    CHAIR_OF_GOVERNORS,
    DEPUTY_DSL,
    DEPUTY_HEAD,
    DSL,
    DSL_CHANNEL,
    HEAD_OF_DEPARTMENT,
    HEADTEACHER,
    IT,
    PUPIL,
    TEACHER,
    assert_valid_card,
    card_texts,
    visible_text,
)

# ----- the seeded records ------------------------------------------------------------------------

FIONA = Person(DSL, "Fiona Blake", frozenset({Role.DSL, Role.STAFF}))
TOM = Person(DEPUTY_DSL, "Tom Hughes", frozenset({Role.DEPUTY_DSL, Role.STAFF}))
DANIEL = Person(TEACHER, "Daniel Okafor", frozenset({Role.STAFF}))
PRIYA = Person(HEAD_OF_DEPARTMENT, "Priya Shah", frozenset({Role.STAFF}))
NADIA = Person(IT, "Nadia Khan", frozenset({Role.IT, Role.STAFF}))
AVA = Person(PUPIL, "Ava Thompson", frozenset({Role.PUPIL}))

CHILD = "Poppy Quillfeather"
STAFF_SUBJECT = "Mr Canary Staffname"
CALL_PUPIL = "Kit Marlowe-Canary"
WHAT = 'CANARY-WHAT <script>alert(1)</script> & she said "stop"'
NOTE = "CANARY-NOTE called her mum"
MESSAGE = "CANARY-MESSAGE thank you"
SITE = "https://canary-site.example/page"
#: Everything that must never reach a governors' report: names, free text, references, sites.
SECRETS = (
    "Fiona",
    "Blake",
    "Tom Hughes",
    "Daniel",
    "Okafor",
    "Priya",
    "Nadia",
    "Thompson",
    "Poppy",
    "Quillfeather",
    "Staffname",
    "Marlowe",
    "CANARY",
    "canary",
    "<script>",
    "OSC-2026",
    "FLT-2026",
    "REC-2026",
)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def new_concern(
    n: int,
    category: str,
    created: datetime,
    *,
    reporter: Person = DANIEL,
    urgent: bool = False,
    involved: str = CHILD,
    what: str = WHAT,
    year_group: str = "Year 8",
) -> Concern:
    return Concern(
        ref=f"OSC-2026-{n:04d}",
        source=Source.PUPIL if reporter is AVA else Source.STAFF,
        category=category,
        urgent=urgent,
        reporter_id=reporter.id,
        reporter_name=reporter.name,
        created_at=created,
        year_group=year_group,
        involved=involved,
        what_happened=what,
        where="A messaging app",
        url=SITE,
        happened_on=created.date().isoformat(),
        immediate_risk=RiskAnswer.NO,
    ).with_event(reporter, created, "reported", "Reported")


def seeded_concerns(extra: int = 0) -> list[Concern]:
    """Six concerns (one about staff, one from October) and ``extra`` plain ones (cyberbullying
    and online hate in turn)."""
    first = new_concern(1, "cyberbullying", at(11, 2, 9), involved=f"{CHILD} (8B)")
    first = acknowledge(first, FIONA, at(11, 2, 9, 30))
    first = record_action(first, FIONA, "parents_informed", NOTE, at(11, 2, 11))
    first = close(first, FIONA, "resolved_in_school", MESSAGE, at(11, 5, 12))
    second = new_concern(2, "grooming", at(11, 10, 10), urgent=True, year_group="Year 10")
    second = acknowledge(second, TOM, at(11, 10, 10, 5))
    third = new_concern(3, "filtering_breach", at(11, 20, 14), year_group="Year 5")
    staff = new_concern(4, "staff_conduct", at(11, 12, 9), reporter=PRIYA, involved=STAFF_SUBJECT)
    october = new_concern(5, "cyberbullying", at(10, 1, 12), reporter=AVA)
    october = acknowledge(october, FIONA, at(10, 1, 12, 20))
    october = close(october, FIONA, "no_further_action", MESSAGE, at(10, 3, 12))
    sixth = new_concern(6, "online_hate", at(11, 16, 9))
    concerns = [first, second, third, staff, october, sixth]
    for n in range(7, 7 + extra):
        category = "cyberbullying" if n % 2 else "online_hate"
        plain = new_concern(n, category, at(11, 3, 9) + timedelta(hours=n), what="CANARY")
        plain = acknowledge(plain, FIONA, plain.created_at + timedelta(minutes=n))
        concerns.append(plain)
    return concerns


def seeded_filter_requests() -> list[FilterRequest]:
    def request(n: int, category: str, asked: datetime, start: date, end: date) -> FilterRequest:
        return FilterRequest(
            ref=f"FLT-2026-{n:04d}",
            requester_id=DANIEL.id,
            requester_name=DANIEL.name,
            created_at=asked,
            site=f"https://canary-site-{n}.example/topic",
            blocked_category=category,
            audience="class",
            audience_detail="10B",
            reason=f"CANARY-REASON {n}: pupils compare sources in a planned lesson.",
            topic="Citizenship",
            start=start,
            end=end,
            supervised=True,
            age_appropriate=True,
            sensitive=category == "drugs",
        ).step(DANIEL, asked, "requested", f"CANARY-REASON {n}")

    allowed = request(1, "games", at(11, 20, 8), date(2026, 11, 23), date(2026, 11, 27))
    allowed = approve(allowed, NADIA, at(11, 20, 9))
    allowed = mark_applied(allowed, NADIA, at(11, 20, 10))
    reblocked = request(2, "drugs", at(10, 5, 8), date(2026, 10, 6), date(2026, 10, 9))
    reblocked = approve(reblocked, TOM, at(10, 5, 9))
    reblocked = approve(reblocked, NADIA, at(10, 5, 10))
    reblocked = mark_applied(reblocked, NADIA, at(10, 5, 11))
    reblocked = reblock_due(reblocked, at(10, 9, 16))
    reblocked = mark_reblocked(reblocked, NADIA, at(10, 12, 9))
    refused = request(3, "police_terrorism", at(11, 2, 8), date(2026, 11, 2), date(2026, 11, 2))
    refused = replace(refused, status=FilterStatus.REFUSED).step(
        None, at(11, 2, 8), "refused", "Unlawful terrorist content is never unblocked."
    )
    return [allowed, reblocked, refused]


def call_check_records() -> list[Record]:
    verdicts = ("allowed", "allowed_once", "not_allowed", "allowed")
    return [
        Record(
            CALL_CHECK_KIND,
            f"check-{n}",
            1,
            {
                "actor": DANIEL.id,
                "checked_at": at(11, 3 + n, 9).isoformat(),
                "date": f"2026-11-{4 + n:02d}",
                "start": "10:00",
                "duration_minutes": 30,
                "platform": "Microsoft Teams",
                "audience": "named",
                "pupils": [CALL_PUPIL],
                "one_to_one": True,
                "contact_at_home": False,
                "recording": n == 1,
                "meeting_id": "",
                "call_log": "",
                "verdict": verdict,
                "rules": {},
            },
        )
        for n, verdict in enumerate(verdicts)
    ]


def recording_records() -> list[Record]:
    records = []
    for n, status in enumerate((RequestStatus.APPROVED, RequestStatus.DECLINED), start=1):
        request = RecordingRequest(
            ref=f"REC-2026-{n:04d}",
            requester_id=PRIYA.id,
            requester_name=PRIYA.name,
            start=at(11, 10 + n, 10),
            end=at(11, 10 + n, 11),
            audience=Audience.CLASS,
            pupil_count=20,
            platform="Microsoft Teams",
            reason="CANARY-RECORDING reason",
            created_at=at(11, 5 + n, 9),
            status=status,
            decided_by_id=HEAD_OF_DEPARTMENT,
            decided_by_name="James Wright",
            decided_at=at(11, 6 + n, 9),
        )
        data = dict(REQUEST_CODEC.dump_python(request, mode="json"))
        data["requester"] = request.requester_id
        records.append(Record(RECORDING_KIND, request.ref, 1, data))
    return records


async def seed(store: Store, *, extra: int = 0) -> None:
    """Write the seeded records through the Store port, as each feature stores them."""
    records = [
        Record(concern_feature.KIND, c.ref, 1, concern_feature.encode(c))
        for c in seeded_concerns(extra)
    ]
    records += [
        Record(filter_feature.KIND, r.ref, 1, filter_feature.encode(r))
        for r in seeded_filter_requests()
    ]
    await store.commit(Change(records=[*records, *call_check_records(), *recording_records()]))


@pytest.fixture
async def seeded(harness: Harness) -> Harness:
    await seed(harness.parts.store)
    return harness


# ----- helpers -----------------------------------------------------------------------------------


async def download(h: Harness, link: str) -> tuple[int, str, str]:
    """GET an export link from the running bot: (status, content type, text)."""
    assert h._server is not None and h._session is not None
    async with h._session.get(str(h._server.make_url(urlsplit(link).path))) as response:
        return response.status, response.content_type, await response.text()


def links(card: dict[str, Any]) -> list[str]:
    return [a["url"] for a in card.get("actions", []) if a["type"] == "Action.OpenUrl"]


def buttons(node: Any) -> list[dict[str, Any]]:
    """Every Action.Execute anywhere in a card (the card's foot and ActionSets)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        if node.get("type") == "Action.Execute":
            found.append(node)
        for value in node.values():
            found += buttons(value)
    elif isinstance(node, list):
        for value in node:
            found += buttons(value)
    return found


def leaks(text: str, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    return [s for s in secrets if s in text]


async def audit(h: Harness) -> list[Any]:
    return await h.parts.store.audit_log()


def in_channel(**kwargs: Any) -> dict[str, Any]:
    return {"scope": "channel", "conversation_id": DSL_CHANNEL, **kwargs}


# ----- open items --------------------------------------------------------------------------------


async def test_open_items_lists_unacknowledged_and_open_concerns_oldest_first_without_names(
    seeded: Harness,
) -> None:
    card = await seeded.click(DSL, "dsl.open_items", **in_channel())

    assert_valid_card(card)
    texts = card_texts(card)
    assert texts[0] == "Open items (3)"
    assert [t for t in texts if "OSC-" in t] == [
        "URGENT: OSC-2026-0002, 13.0 days old",
        "OSC-2026-0006, 7.0 days old (not yet acknowledged)",
        "OSC-2026-0003, 2.8 days old (not yet acknowledged)",
    ]
    shown = visible_text(card)
    assert "Online sexual abuse, exploitation or grooming" in shown and "Year 10" in shown
    # Closed ones, and the concern about staff (the headteacher's), are not the DSL's list.
    assert "OSC-2026-0001" not in shown and "OSC-2026-0004" not in shown
    assert leaks(json.dumps(card)) == ["OSC-2026"]
    # "Open" is the concern feature's own verb, with reference and version only.
    opens = [b["data"] for b in buttons(card) if b["verb"] == "concern.open"]
    assert opens[0] == {"verb": "concern.open", "v": 1, "ref": "OSC-2026-0002", "ver": 1}
    assert "concern.chronology" not in json.dumps(card)  # not offered in a channel


async def test_open_from_the_list_shows_the_detail_to_the_clicker_only(seeded: Harness) -> None:
    card = await seeded.click(DSL, "dsl.open_items", **in_channel())
    data = next(b["data"] for b in buttons(card) if b["verb"] == "concern.open")

    detail = await seeded.click(DEPUTY_DSL, "concern.open", data, **in_channel())

    assert CHILD in visible_text(detail)
    assert seeded.connector.posted == []  # an invoke reply: nothing posted to the channel


async def test_open_items_in_a_private_chat_offer_the_chronology(seeded: Harness) -> None:
    card = await seeded.click(DEPUTY_DSL, "dsl.open_items")

    chronology = [b["data"] for b in buttons(card) if b["verb"] == "concern.chronology"]
    assert [d["ref"] for d in chronology] == ["OSC-2026-0002", "OSC-2026-0006", "OSC-2026-0003"]
    [entry] = [e for e in await audit(seeded) if e.action == "records.open_items"]
    assert (entry.actor, entry.outcome) == (DEPUTY_DSL, "viewed 3")


# ----- the incident log --------------------------------------------------------------------------


async def test_the_incident_log_asks_for_dates_with_the_term_so_far_suggested(
    seeded: Harness,
) -> None:
    card = await seeded.click(DSL, "dsl.incident_log")

    assert_valid_card(card)
    dates = {e["id"]: e.get("value") for e in card["body"] if e["type"] == "Input.Date"}
    assert dates == {"from": "2026-09-02", "to": "2026-11-23"}


async def test_the_incident_log_csv_rows_match_the_records_in_a_private_chat(
    seeded: Harness,
) -> None:
    card = await seeded.click(
        DSL, "dsl.incident_log", {"step": "show", "from": "2026-11-01", "to": "2026-11-30"}
    )

    assert_valid_card(card)
    shown = visible_text(card)
    assert "Incident log: 1 Nov 2026 to 30 Nov 2026" in shown
    assert "Concerns reported 4" in shown and "Urgent 1" in shown and "Still open 3" in shown
    assert "Median time to acknowledge 17 min" in shown  # 30 min and 5 min
    assert "Median time to close 3.1 days" in shown
    assert leaks(json.dumps({k: v for k, v in card.items() if k != "actions"})) == []
    [link] = links(card)
    status, media_type, content = await download(seeded, link)
    assert (status, media_type) == (200, "text/csv")
    rows = list(csv.DictReader(io.StringIO(content)))
    # Reported in November, oldest first; not the concern about staff, not October's.
    assert [r["reference"] for r in rows] == [
        "OSC-2026-0001",
        "OSC-2026-0002",
        "OSC-2026-0006",
        "OSC-2026-0003",
    ]
    assert rows[0] == {
        "reference": "OSC-2026-0001",
        "source": "staff",
        "reported_at": "2026-11-02T09:00+00:00",
        "happened_on": "2026-11-02",
        "category": "Cyberbullying",
        "kcsie_group": "Conduct",
        "urgency": "routine",
        "year_group": "Year 8",
        "status": "closed",
        "acknowledged_at": "2026-11-02T09:30+00:00",
        "closed_at": "2026-11-05T12:00+00:00",
        "actions_taken": "Parents or carers informed",
        "outcome": "Resolved in school",
        "hours_to_acknowledge": "0.50",
        "hours_to_close": "75.00",
        "reported_out_of_hours": "no",
        "escalation_steps": "0",
        "handed_off_to": "",
        "reported_by": "Daniel Okafor",
        "handled_by": "Fiona Blake",
        "involved": f"{CHILD} (8B)",
        "tried": "",
        # Issue 20: the closing columns (a seeded close, made before second-person closing).
        "closure_reason": "",
        "closure_proposed_by": "",
        "closure_confirmed_by": "",
        "closures_sent_back": "0",
    }
    assert rows[1]["urgency"] == "urgent" and rows[1]["hours_to_acknowledge"] == "0.08"
    assert (rows[1]["status"], rows[1]["closed_at"], rows[1]["hours_to_close"]) == (
        "acknowledged",
        "",
        "",
    )
    assert rows[3]["status"] == "new" and rows[3]["handled_by"] == ""
    [entry] = [e for e in await audit(seeded) if e.action == "records.incident_log"]
    assert (entry.actor, entry.item, entry.outcome) == (
        DSL,
        "2026-11-01/2026-11-30",
        "exported 4 rows",
    )


async def test_the_incident_log_in_the_channel_has_no_names_and_no_download(
    seeded: Harness,
) -> None:
    card = await seeded.click(
        DEPUTY_DSL,
        "dsl.incident_log",
        {"step": "show", "from": "2026-09-01", "to": "2026-11-30"},
        **in_channel(),
    )

    assert_valid_card(card)
    assert links(card) == []
    assert "offered only in a private chat" in visible_text(card)
    assert leaks(json.dumps(card)) == []
    assert "Concerns reported 5" in visible_text(card)


async def test_a_wrong_date_range_is_asked_again(seeded: Harness) -> None:
    card = await seeded.click(
        DSL, "dsl.incident_log", {"step": "show", "from": "2026-11-30", "to": "2026-11-01"}
    )

    assert "The period ends (2026-11-01) before it starts (2026-11-30)." in card_texts(card)
    dates = {e["id"]: e.get("value") for e in card["body"] if e["type"] == "Input.Date"}
    assert dates == {"from": "2026-11-30", "to": "2026-11-01"}


# ----- a concern's chronology --------------------------------------------------------------------


async def test_the_chronology_is_a_readable_escaped_document_with_every_event(
    seeded: Harness,
) -> None:
    card = await seeded.click(DSL, "concern.chronology", {"ref": "osc-2026-0001"})

    assert_valid_card(card)
    assert card_texts(card)[0] == "Chronology of OSC-2026-0001"
    [link] = links(card)
    status, media_type, page = await download(seeded, link)
    assert (status, media_type) == (200, "text/html")
    assert page.startswith("<!DOCTYPE html>") and "@media print" in page
    assert "Chronology of concern OSC-2026-0001" in page
    assert "Prepared by Fiona Blake on Mon 23 Nov 2026, 10:00" in page
    assert f"{CHILD} (8B)" in page and NOTE in page and MESSAGE in page
    # Free text is escaped, never markup; the web address is text, never a link.
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&amp; she said &quot;stop&quot;" in page
    assert SITE in page and "href" not in page
    events = re.findall(
        r'<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td class="text">([^<]*)</td>',
        page,
    )
    assert events == [
        ("Mon 2 Nov 2026, 09:00", "Daniel Okafor", "Reported", "Reported"),
        ("Mon 2 Nov 2026, 09:30", "Fiona Blake", "Acknowledged", "Acknowledged"),
        (
            "Mon 2 Nov 2026, 11:00",
            "Fiona Blake",
            "Action taken",
            f"Parents or carers informed: {NOTE}",
        ),
        ("Thu 5 Nov 2026, 12:00", "Fiona Blake", "Closed", "Closed: Resolved in school"),
    ]
    [entry] = [e for e in await audit(seeded) if e.action == "concern.chronology"]
    assert (entry.actor, entry.item, entry.outcome) == (DSL, "concern:OSC-2026-0001", "exported")


async def test_a_concern_about_staff_is_exported_for_the_headteacher_only(
    seeded: Harness,
) -> None:
    refused = await seeded.click(DSL, "concern.chronology", {"ref": "OSC-2026-0004"})
    allowed = await seeded.click(HEADTEACHER, "concern.chronology", {"ref": "OSC-2026-0004"})

    assert links(refused) == []
    assert "No concern that you handle has that reference." in card_texts(refused)
    assert STAFF_SUBJECT not in json.dumps(refused)
    [link] = links(allowed)
    assert STAFF_SUBJECT in (await download(seeded, link))[2]
    outcomes = [
        (e.actor, e.outcome) for e in await audit(seeded) if e.action == "concern.chronology"
    ]
    assert outcomes == [(DSL, "refused: not a handler"), (HEADTEACHER, "exported")]


async def test_the_chronology_is_offered_only_in_a_private_chat(seeded: Harness) -> None:
    card = await seeded.click(DSL, "concern.chronology", {"ref": "OSC-2026-0001"}, **in_channel())

    assert links(card) == []
    assert "only in a private chat" in visible_text(card)
    assert not [e for e in await audit(seeded) if e.action == "concern.chronology"]


async def test_an_unknown_reference_is_refused_like_a_forbidden_one(seeded: Harness) -> None:
    missing = await seeded.click(DSL, "concern.chronology", {"ref": "OSC-2026-0999"})
    nonsense = await seeded.click(DSL, "concern.chronology", {"ref": "<b>x</b>"})
    asked = await seeded.click(DSL, "concern.chronology")

    assert "No concern that you handle has that reference." in card_texts(missing)
    assert "No concern that you handle has that reference." in card_texts(nonsense)
    assert "Export a concern's chronology" in card_texts(asked)
    for card in (missing, nonsense, asked):
        assert_valid_card(card)
        assert links(card) == []
    refusals = [e.outcome for e in await audit(seeded) if e.action == "concern.chronology"]
    assert refusals == ["refused: not found"]


# ----- the governors' report ---------------------------------------------------------------------


async def test_the_chair_of_governors_gets_an_anonymised_report_and_document(
    seeded: Harness,
) -> None:
    picker = await seeded.click(CHAIR_OF_GOVERNORS, "records.governors")
    assert_valid_card(picker)
    [choice] = [e for e in picker["body"] if e["type"] == "Input.ChoiceSet"]
    assert choice["value"] == "term:Autumn 2026"
    assert [c["value"] for c in choice["choices"]][:3] == [
        "term:Autumn 2026",
        "term:Spring 2027",
        "term:Summer 2027",
    ]

    card = await seeded.click(
        CHAIR_OF_GOVERNORS, "records.governors", {"step": "make", "period": "term:Autumn 2026"}
    )

    assert_valid_card(card)
    shown = visible_text(card)
    assert "Governors' report: Autumn 2026" in shown
    # Six concerns, every category with any of them "fewer than 3".
    assert "Cyberbullying fewer than 3" in shown and "Total 6" in shown
    assert leaks(json.dumps(card)) == []
    [link] = links(card)
    status, media_type, page = await download(seeded, link)
    assert (status, media_type) == (200, "text/html")
    assert "Online safety: report to governors" in page
    assert leaks(page) == []
    [entry] = [e for e in await audit(seeded) if e.action == "records.governors_report"]
    assert (entry.actor, entry.item) == (CHAIR_OF_GOVERNORS, "2026-09-02/2026-12-18")


async def test_an_unknown_period_is_asked_again(seeded: Harness) -> None:
    card = await seeded.click(DSL, "records.governors", {"step": "make", "period": "term:Nope"})

    assert "Governors' report" in card_texts(card)
    assert any("no term called 'Nope'" in t for t in card_texts(card))


@pytest.mark.parametrize(
    ("typed", "heading"),
    [
        ("governors report", "Governors' report"),
        ("Governors' report please", "Governors' report"),
        ("chronology", "Export a concern's chronology"),
        ("open items", "Open items (3)"),
        ("incident log", "Incident log"),
    ],
)
async def test_typed_commands(seeded: Harness, typed: str, heading: str) -> None:
    await seeded.say(DSL, typed)

    [card] = seeded.connector.cards()
    assert card_texts(card)[0] == heading


# ----- role checks on every command --------------------------------------------------------------

EVERYONE = {
    "dsl": DSL,
    "deputy_dsl": DEPUTY_DSL,
    "headteacher": HEADTEACHER,
    "chair": CHAIR_OF_GOVERNORS,
    "teacher": TEACHER,
    "head_of_department": HEAD_OF_DEPARTMENT,
    "deputy_head": DEPUTY_HEAD,
    "it": IT,
    "pupil": PUPIL,
}
ALLOWED = {
    "dsl.open_items": {"dsl", "deputy_dsl"},
    "dsl.incident_log": {"dsl", "deputy_dsl"},
    "concern.chronology": {"dsl", "deputy_dsl", "headteacher", "chair"},
    "records.governors": {"dsl", "deputy_dsl", "headteacher", "chair"},
}
REQUESTS = {
    "dsl.open_items": {},
    "dsl.incident_log": {"step": "show", "from": "2026-09-01", "to": "2026-11-30"},
    "concern.chronology": {"ref": "OSC-2026-0002"},
    "records.governors": {"step": "make", "period": "term:Autumn 2026"},
}


@pytest.mark.parametrize("verb", sorted(ALLOWED))
@pytest.mark.parametrize("who", sorted(EVERYONE))
async def test_every_command_is_role_checked(seeded: Harness, verb: str, who: str) -> None:
    card = await seeded.click(EVERYONE[who], verb, REQUESTS[verb])

    assert_valid_card(card)
    refused = [e for e in await audit(seeded) if e.outcome.startswith("refused")]
    if who in ALLOWED[verb]:
        assert "That isn't available to you" not in card_texts(card)
        if verb != "concern.chronology" or who in {"dsl", "deputy_dsl"}:
            assert refused == []
        return
    assert card_texts(card)[0] in {"That isn't available to you", "Sorry, you can't do that here"}
    assert links(card) == []
    assert leaks(json.dumps(card)) == []
    assert [(e.actor, e.action, e.outcome) for e in refused] == [
        (EVERYONE[who], verb, "refused: role does not allow it")
    ]
