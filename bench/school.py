"""The benchmark's school: the demo school plus enough staff and pupils that turns rotate over
many people (one pupil sending hundreds of reports would measure the burst grouping, not a
report), and the Teams-shaped activities each measured turn sends.

The activity builders and demo ids are the test suite's (``tests.support``), so the benchmark
sends exactly what the end-to-end tests send.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bot.config import DEFAULT_LOCAL_DIRECTORY
from tests.support import CALL_FORM, DEPUTY_DSL, DSL, DSL_CHANNEL, card_action, demo_id, message

STAFF_GROUP = "5c400000-0000-4000-8000-000000000101"
PUPIL_GROUP = "5c400000-0000-4000-8000-000000000102"
EXTRA_TEACHERS = 60
EXTRA_PUPILS = 400
TEACHERS = [demo_id(2), demo_id(3)] + [demo_id(1000 + n) for n in range(EXTRA_TEACHERS)]
PUPILS = [demo_id(1), demo_id(10)] + [demo_id(5000 + n) for n in range(EXTRA_PUPILS)]
HANDLERS = [DSL, DEPUTY_DSL]


def write_directory(path: Path) -> Path:
    """The demo directory with the extra teachers and pupils, written to ``path``."""
    school = json.loads(DEFAULT_LOCAL_DIRECTORY.read_text(encoding="utf-8"))
    for n in range(EXTRA_TEACHERS):
        school["people"].append(
            {
                "id": demo_id(1000 + n),
                "name": f"Teacher {n:03d}",
                "educationRole": "teacher",
                "groups": [STAFF_GROUP],
            }
        )
    for n in range(EXTRA_PUPILS):
        year = 7 + n % 5
        school["people"].append(
            {
                "id": demo_id(5000 + n),
                "name": f"Pupil {n:03d}",
                "educationRole": "student",
                "groups": [PUPIL_GROUP],
                "yearGroup": f"Year {year}",
                "form": f"{year}{'ABCD'[n % 4]}",
            }
        )
    path.write_text(json.dumps(school, indent=1), encoding="utf-8")
    return path


# ----- the form fields each flow sends (as in tests/e2e) ---------------------------------------


def concern_fields(today: date) -> dict[str, str]:
    """A staff concern's details (tests/e2e/test_concern_over_http.py ``report_fields``)."""
    return {
        "immediate_risk": "no",
        "involved": "A pupil in 8B",
        "year_group": "Year 8",
        "what_happened": "Sent messages at night asking to meet after school, and a photo.",
        "where": "Snapchat",
        "url": "",
        "happened_on": (today - timedelta(days=1)).isoformat(),
        "actions_taken": "Phone switched off and kept in the office",
    }


def worry_fields() -> dict[str, str]:
    """A pupil's worry (tests/e2e/test_pupil_report_over_http.py ``answers``)."""
    return {
        "kind": "unkind",
        "words": "A boy in a game keeps messaging me and it makes me feel bad",
        "safe": "yes",
        "adult": "Mrs Jones",
    }


def filter_fields(today: date) -> dict[str, str]:
    """A filter request (tests/e2e/test_filter_over_http.py ``form_fields``)."""
    return {
        "site": "www.history-of-hate.example/propaganda",
        "blocked_category": "unknown",
        "audience": "class",
        "audience_detail": "10B",
        "reason": "Year 10 are comparing how extremist groups recruit online, for citizenship.",
        "topic": "Citizenship: radicalisation",
        "start": today.isoformat(),
        "end": (today + timedelta(days=4)).isoformat(),
        "supervised": "yes",
        "age_appropriate": "yes",
    }


def call_fields(today: date) -> dict[str, str]:
    """A class lesson on Teams (tests/e2e/test_video_call_over_http.py ``LESSON``), planned for
    the next weekday after tomorrow so that it is never in the past."""
    day = today + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return {**CALL_FORM, "date": day.isoformat()}


# ----- the measured turns ----------------------------------------------------------------------

#: The measured turns, and the text a good answer's card holds ("" for a message: the reply
#: goes through the connector and the HTTP answer is an empty 200/201).
EXPECT: dict[str, str] = {
    "welcome": "",
    "concern_submit": "Received: OSC-",
    "pupil_submit": "Your worry has been sent.",
    "dsl_ack": "Acknowledged",
    "filter_submit": "Sent: FLT-",
    "video_call": "llowed",  # Allowed, Allowed once you…, Not allowed: the date decides
}
TURNS = tuple(EXPECT)
#: Words on a card that mean the turn did not do what it was asked.
TROUBLE = ("Sorry", "out of date", "already changed", "could not be saved", "isn't available")


def answer_ok(turn: str, status: int, body: bytes) -> bool:
    """Whether the bot's HTTP answer is the success ``turn`` expects."""
    if turn == "welcome":
        return status in (200, 201)
    if status != 200:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    if not isinstance(answer, dict) or answer.get("statusCode") != 200:
        return False
    text = json.dumps(answer.get("value"), ensure_ascii=False)
    if turn == "video_call" and '"call.submit"' in text:
        return False  # the form again: the plan was not accepted
    return EXPECT[turn] in text and not any(words in text for words in TROUBLE)


@dataclass
class Turns:
    """Builds the activity for turn ``i`` of each kind (fresh form ids, rotating senders).

    ``templates`` are the submit buttons' data read from the real form cards at the start of a
    run (so the benchmark follows the cards), and ``ack_refs`` the concerns waiting for a DSL.
    """

    service_url: str
    today: date
    templates: Mapping[str, Mapping[str, Any]]
    ack_refs: list[str]

    def build(self, turn: str) -> Callable[[int], dict[str, Any]]:
        """The builder of ``turn``'s activities."""
        return {
            "welcome": self.welcome,
            "concern_submit": self.concern_submit,
            "pupil_submit": self.pupil_submit,
            "dsl_ack": self.dsl_ack,
            "filter_submit": self.filter_submit,
            "video_call": self.video_call,
        }[turn]

    def welcome(self, i: int) -> dict[str, Any]:
        return message(TEACHERS[i % len(TEACHERS)], "hello", self.service_url)

    def _teacher_form(self, i: int, verb: str, fields: dict[str, Any]) -> dict[str, Any]:
        """A teacher submitting the ``verb`` form: its template, filled with ``fields``."""
        data = {**self.templates[verb], **fields, "form": uuid.uuid4().hex}
        return card_action(TEACHERS[i % len(TEACHERS)], verb, self.service_url, data=data)

    def concern_submit(self, i: int) -> dict[str, Any]:
        return self._teacher_form(i, "concern.submit", concern_fields(self.today))

    def pupil_submit(self, i: int) -> dict[str, Any]:
        data = {**self.templates["worry.submit"], **worry_fields(), "form": uuid.uuid4().hex}
        return card_action(PUPILS[i % len(PUPILS)], "worry.submit", self.service_url, data=data)

    def dsl_ack(self, i: int) -> dict[str, Any]:
        ref = self.ack_refs[i % len(self.ack_refs)]
        data = {"verb": "concern.ack", "v": 1, "ref": ref, "ver": 1}
        return card_action(
            HANDLERS[i % len(HANDLERS)],
            "concern.ack",
            self.service_url,
            data=data,
            scope="channel",
            conversation_id=DSL_CHANNEL,
        )

    def filter_submit(self, i: int) -> dict[str, Any]:
        return self._teacher_form(i, "filter.submit", filter_fields(self.today))

    def video_call(self, i: int) -> dict[str, Any]:
        data = {"verb": "call.submit", "v": 1, **call_fields(self.today)}
        return card_action(TEACHERS[i % len(TEACHERS)], "call.submit", self.service_url, data=data)


#: The form cards whose submit button data the turns start from: (start verb, data, submit verb).
FORMS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("concern.start", {"step": "details", "category": "cyberbullying"}, "concern.submit"),
    ("worry.start", {}, "worry.submit"),
    ("filter.start", {}, "filter.submit"),
)


def submit_data(card: Mapping[str, Any], verb: str) -> dict[str, Any]:
    """The data of the ``verb`` button at the card's foot."""
    for action in card.get("actions", []):
        if action.get("verb") == verb:
            return dict(action["data"])
    raise LookupError(f"the form card has no {verb} button")


def form_request(start_verb: str, data: dict[str, Any], service_url: str) -> dict[str, Any]:
    """The click that opens a form (a pupil opens the worry card, a teacher the others)."""
    who = PUPILS[0] if start_verb == "worry.start" else TEACHERS[0]
    return card_action(who, start_verb, service_url, data={"verb": start_verb, "v": 1, **data})
