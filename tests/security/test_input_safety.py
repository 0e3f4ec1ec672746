"""Hostile input (quality note I2, I3): 10 000 generated activities never cause a 500 or an
unhandled exception, and user text can never draw a link, image or mention on any card."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy.actions import Verb
from tests.conftest import Harness
from tests.e2e.test_concern_over_http import button, report
from tests.support import (
    DSL,
    DSL_CHANNEL,
    PUPIL,
    TEACHER,
    TENANT,
    demo_id,
    raw_texts,
)

FUZZ_EXAMPLES = 10_000

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.text(max_size=40),
    st.floats(allow_nan=False),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
people = st.sampled_from(
    [demo_id(n) for n in range(1, 11)] + ["", "not-a-guid", "5C400000-0000-4000-8000-000000000006"]
)
verbs = st.one_of(st.sampled_from([v.value for v in Verb]), st.text(max_size=30))


@st.composite
def well_formed(draw: st.DrawFn, service_url: str) -> Any:
    """A valid Teams envelope from a real person of the demo school, with random content."""
    activity = draw(activities(service_url))
    activity.update(
        {
            "type": draw(st.sampled_from(["message", "invoke"])),
            "id": draw(st.from_regex(r"1[0-9]{12}", fullmatch=True)),
            "serviceUrl": service_url,
            "channelId": "msteams",
            "from": {
                "id": "29:user",
                "aadObjectId": draw(st.sampled_from([demo_id(n) for n in range(1, 11)])),
            },
            "conversation": {
                "id": draw(st.sampled_from([f"a:{TEACHER}", DSL_CHANNEL, "19:x@thread.v2"])),
                "conversationType": draw(st.sampled_from(["personal", "groupChat", "channel"])),
                "tenantId": TENANT,
            },
            "channelData": {"tenant": {"id": TENANT}},
        }
    )
    if activity["type"] == "invoke":
        activity["name"] = "adaptiveCard/action"
        activity.setdefault("value", {})
        if not isinstance(activity["value"], dict) or "action" not in activity["value"]:
            activity["value"] = {
                "action": {"type": "Action.Execute", "verb": draw(verbs), "data": {"v": 1}}
            }
    else:
        activity.setdefault("text", draw(st.text(max_size=100)))
    return activity


@st.composite
def activities(draw: st.DrawFn, service_url: str) -> Any:
    kind = draw(
        st.sampled_from(["message", "invoke", "conversationUpdate", "event", "typing", "weird"])
    )
    activity: dict[str, Any] = {
        "type": kind,
        "id": draw(
            st.one_of(st.from_regex(r"1[0-9]{12}", fullmatch=True), st.text(max_size=20), st.none())
        ),
        "serviceUrl": draw(st.sampled_from([service_url, service_url, "", "ftp://x", None])),
        "channelId": draw(st.sampled_from(["msteams", "webchat", ""])),
        "from": draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "id": st.one_of(st.just("29:user"), st.text(max_size=10)),
                        "aadObjectId": people,
                    }
                ),
                json_value,
            )
        ),
        "recipient": {"id": "28:bot"},
        "conversation": draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "id": st.sampled_from([f"a:{TEACHER}", DSL_CHANNEL, "19:x@thread.v2", ""]),
                        "conversationType": st.sampled_from(
                            ["personal", "groupChat", "channel", "odd"]
                        ),
                        "tenantId": st.sampled_from([TENANT, "other"]),
                    }
                ),
                json_value,
            )
        ),
        "channelData": draw(st.one_of(st.just({"tenant": {"id": TENANT}}), json_value)),
    }
    if kind == "message":
        activity["text"] = draw(
            st.one_of(
                st.text(max_size=200),
                st.sampled_from(["help", "report a concern", "filter log", "my reports"]),
            )
        )
        activity["attachments"] = draw(st.one_of(st.just([]), st.lists(json_value, max_size=2)))
    if kind == "invoke":
        activity["name"] = draw(st.sampled_from(["adaptiveCard/action", "task/fetch", "x"]))
        activity["value"] = draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "action": st.fixed_dictionaries(
                            {
                                "type": st.just("Action.Execute"),
                                "verb": verbs,
                                "data": st.dictionaries(
                                    st.sampled_from(
                                        [
                                            "v",
                                            "ref",
                                            "ver",
                                            "form",
                                            "category",
                                            "note",
                                            "step",
                                            "op",
                                            "pupil",
                                            "decision",
                                            "site",
                                            "date",
                                            "start",
                                        ]
                                    ),
                                    json_value,
                                    max_size=6,
                                ),
                            }
                        ),
                        "trigger": st.sampled_from(["manual", "automatic"]),
                    }
                ),
                json_value,
            )
        )
    if kind == "conversationUpdate":
        activity["membersAdded"] = draw(st.one_of(st.just([{"id": "28:bot"}]), json_value))
    return activity


@pytest.mark.slow
async def test_i2_ten_thousand_generated_activities_never_cause_a_500(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    statuses: dict[int, int] = {}

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        activity=st.one_of(activities(harness.connector.url), well_formed(harness.connector.url))
    )
    def one(activity: dict[str, Any]) -> None:
        generated.append(activity)

    generated: list[dict[str, Any]] = []
    one()
    for activity in generated:
        status, _ = await harness.post(activity)
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, json.dumps(activity)[:500]

    print(f"\n{len(generated)} generated activities: statuses {dict(sorted(statuses.items()))}")
    assert len(generated) >= FUZZ_EXAMPLES * 0.95
    unhandled = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name in {"aiohttp.server", "bot.app"}
    ]
    assert unhandled == [], [r.getMessage() for r in unhandled[:5]]


LIVE_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")
HOSTILE = (
    "[Click here](https://evil.example/x) ![pic](https://evil.example/p.png) "
    "<at>Fiona Blake</at> **bold**"
)


async def test_i3_user_text_never_renders_a_link_image_or_mention(harness: Harness) -> None:
    await report(
        harness,
        "cyberbullying",
        involved=HOSTILE,
        what_happened=HOSTILE + " " + "x" * 3000,
        where=HOSTILE,
    )
    await harness.settle()
    card = harness.connector.cards(DSL_CHANNEL)[-1]
    detail = await harness.click(DSL, "concern.open", button(card, "concern.open"))
    detail = await harness.click(
        DSL, "concern.note", {**button(detail, "concern.note"), "note": HOSTILE + "y" * 20_000}
    )
    await harness.say(PUPIL, HOSTILE)

    cards = [detail, card, *harness.connector.cards()]
    for shown in cards:
        for text in raw_texts(shown):
            assert not LIVE_LINK.search(text), text[:200]
            assert "<at>" not in text
            assert len(text) <= 4200
    assert "Click here" in json.dumps(detail)  # the words are there, just not as a link
    [concern] = await harness.parts.store.find("concern")
    notes = [e["text"] for e in concern.data["chronology"] if e["kind"] == "note"]
    assert len(notes[0]) <= 1000  # a 20 000-character note is capped before it is kept
