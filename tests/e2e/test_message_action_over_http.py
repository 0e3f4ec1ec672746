""" "Report this message" (issue 18) end to end: the recorded shapes of Teams' message-action
invokes (``composeExtension/fetchTask`` and ``composeExtension/submitAction``) over real HTTP
into the real botbuilder adapter, real TinyDB files and a fake Bot Connector.

A teacher reports a channel message: the dialog shows the message and the imagery rule, the
concern form comes prefilled (words, the pupil author as "who is involved", the date, a link),
problems are shown again in the dialog, and Send makes a concern routed like any other, with a
copy of the confirmation in the teacher's private chat. A pupil gets the worry card with the
message's words. Pictures in the message are never fetched or stored.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Harness
from tests.support import (
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    PUPIL,
    TEACHER,
    _envelope,
    assert_valid_card,
    dm,
    everything,
    visible_text,
)

CLASS_CHANNEL = "19:class-9c@thread.tacv2"
LINK = "https://teams.microsoft.com/l/message/19:class-9c@thread.tacv2/1763891880000"
WORDS = "meet me after school, dont tell anyone CANARY-6161"
PICTURE = "http://127.0.0.1:9/CANARY-picture.png"


def payload(**changes: Any) -> dict[str, Any]:
    """A ``messagePayload`` as Teams sends it (recorded shape, ids replaced)."""
    base: dict[str, Any] = {
        "id": "1763891880000",
        "replyToId": None,
        "createdDateTime": "2026-11-23T09:58:00.000Z",
        "lastModifiedDateTime": None,
        "deleted": False,
        "subject": None,
        "summary": None,
        "importance": "normal",
        "locale": "en-us",
        "linkToMessage": LINK,
        "from": {
            "device": None,
            "conversation": None,
            "user": {
                "userIdentityType": "aadUser",
                "id": PUPIL,
                "displayName": "Ava Thompson",
            },
            "application": None,
        },
        "body": {"contentType": "html", "content": f"<p>{WORDS}</p>"},
        "attachmentLayout": None,
        "attachments": [],
        "mentions": [],
        "reactions": [],
    }
    base.update(changes)
    return base


def invoke(who: str, name: str, value: dict[str, Any], url: str) -> dict[str, Any]:
    activity = _envelope("invoke", who, url, "channel", CLASS_CHANNEL)
    activity["name"] = name
    activity["value"] = {
        "commandId": "reportMessage",
        "commandContext": "message",
        "context": {"theme": "default"},
        **value,
    }
    return activity


async def fetch(h: Harness, who: str, message: dict[str, Any]) -> dict[str, Any]:
    status, body = await h.post(
        invoke(who, "composeExtension/fetchTask", {"messagePayload": message}, h.connector.url)
    )
    assert status == 200, body
    assert body["task"]["type"] == "continue", body
    return dict(body["task"]["value"])


async def submit(h: Harness, who: str, data: dict[str, Any]) -> dict[str, Any]:
    value = {"data": data, "messagePayload": payload(), "botMessagePreviewAction": None}
    status, body = await h.post(
        invoke(who, "composeExtension/submitAction", value, h.connector.url)
    )
    assert status == 200, body
    assert body["task"]["type"] == "continue", body
    return dict(body["task"]["value"])


async def closing(h: Harness, who: str, data: dict[str, Any]) -> str:
    """Submit the last step: the dialog closes on a short confirmation; returns its words."""
    value = {"data": data, "messagePayload": payload(), "botMessagePreviewAction": None}
    status, body = await h.post(
        invoke(who, "composeExtension/submitAction", value, h.connector.url)
    )
    assert status == 200, body
    assert body["task"]["type"] == "message", body
    return str(body["task"]["value"])


def submit_data(card: dict[str, Any], verb: str) -> dict[str, Any]:
    for action in card.get("actions", []):
        assert action["type"] != "Action.Execute"  # dialogs run Action.Submit only
        if action.get("data", {}).get("verb") == verb:
            return dict(action["data"])
    raise AssertionError(f"no {verb} button")


def field(card: dict[str, Any], field_id: str) -> Any:
    [found] = [e for e in card["body"] if e.get("id") == field_id]
    return found.get("value")


async def test_a_teacher_reports_a_channel_message_and_it_is_routed_like_any_concern(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    shown = await fetch(harness, TEACHER, payload())
    first = shown["card"]["content"]
    assert shown["title"] == "Report an online-safety concern"
    assert_valid_card(first)
    text = visible_text(first)
    assert "CANARY-6161" in text
    assert "Pictures and files in the message are not saved or shown here." in text
    assert await harness.parts.store.find("concern") == []

    form = (
        await submit(
            harness, TEACHER, {**submit_data(first, "concern.start"), "category": "grooming"}
        )
    )["card"]["content"]
    assert_valid_card(form)
    assert field(form, "involved") == "Ava Thompson"
    assert field(form, "year_group") == "Year 8"
    assert "A message in Teams from Ava Thompson, sent 23 Nov 2026 at 09:58" in field(
        form, "what_happened"
    )
    assert WORDS in field(form, "what_happened")
    assert field(form, "url") == LINK
    assert field(form, "where") == "Microsoft Teams"

    send = submit_data(form, "concern.submit")
    filled = {
        "immediate_risk": "no",
        "involved": field(form, "involved"),
        "year_group": field(form, "year_group"),
        "what_happened": field(form, "what_happened"),
        "where": field(form, "where"),
        "url": field(form, "url"),
        "happened_on": "2026-11-23",
    }
    # A problem is shown again in the same dialog, and nothing is sent.
    again = (await submit(harness, TEACHER, {**send, **filled, "where": ""}))["card"]["content"]
    assert "Nothing has been sent yet" in visible_text(again)
    assert await harness.parts.store.find("concern") == []

    done = await closing(harness, TEACHER, {**send, **filled})
    assert done.startswith("Received: OSC-2026-0001. Your report about online sexual abuse")
    assert done.endswith("You'll find the details in your private chat with me.")
    [record] = await harness.parts.store.find("concern")
    assert "CANARY-6161" in record.data["what_happened"]
    assert record.data["urgent"] is True  # grooming
    # A double click is the same report (and no second copy).
    again_sent = await submit(harness, TEACHER, {**send, **filled})
    assert "Received: OSC-2026-0001" in visible_text(again_sent["card"]["content"])
    assert len(await harness.parts.store.find("concern")) == 1
    await harness.settle()
    [card] = harness.connector.cards(DSL_CHANNEL)
    assert "OSC-2026-0001" in visible_text(card)
    assert "CANARY" not in everything(card)
    for person in (DSL, DEPUTY_DSL):
        assert harness.connector.to(dm(person))
    [copy] = harness.connector.cards(dm(TEACHER))
    assert "Received: OSC-2026-0001" in visible_text(copy)
    assert harness.connector.to(CLASS_CHANNEL) == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "CANARY" not in logged and "Ava Thompson" not in logged


async def test_a_picture_in_the_message_is_never_fetched_or_stored(harness: Harness) -> None:
    message = payload(
        body={"contentType": "html", "content": f'<p>{WORDS}</p><img src="{PICTURE}">'},
        attachments=[{"contentType": "image/png", "contentUrl": PICTURE}],
    )
    first = (await fetch(harness, TEACHER, message))["card"]["content"]

    assert "This message has a picture or a file. It was not opened or saved." in visible_text(
        first
    )
    assert "CANARY-picture" not in everything(first)
    stored = b"".join(p.read_bytes() for p in harness.settings.data_dir.rglob("*") if p.is_file())
    assert b"CANARY" not in stored


async def test_a_pupil_gets_the_worry_card_with_the_messages_words(harness: Harness) -> None:
    message = payload()
    message["from"] = {"user": {"id": TEACHER, "displayName": "Mr Teacher"}}
    shown = await fetch(harness, PUPIL, message)

    assert shown["title"] == "Tell a trusted adult about this message"
    card = shown["card"]["content"]
    assert_valid_card(card)
    assert field(card, "words") == WORDS
    send = submit_data(card, "worry.submit")
    done = await closing(
        harness, PUPIL, {**send, "kind": "stranger", "words": WORDS, "safe": "yes", "adult": ""}
    )
    assert done.startswith("Thank you for telling us. Your worry has been sent.")
    [record] = await harness.parts.store.find("concern")
    assert record.data["source"] == "pupil"


async def test_another_command_id_is_refused(harness: Harness) -> None:
    activity = invoke(
        TEACHER, "composeExtension/fetchTask", {"messagePayload": payload()}, harness.connector.url
    )
    activity["value"]["commandId"] = "somethingElse"
    status, _ = await harness.post(activity)
    assert status == 400
