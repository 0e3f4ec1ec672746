"""``bot.adapter.ActivityDeserializer`` reads every activity as msrest's ``Activity.deserialize``
does (issue 25): the same model, attribute by attribute (extra keys kept as additional
properties), or the same refusal.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botbuilder.schema import Activity

from bot.adapter import ActivityDeserializer
from tests.support import BOT_ID, DSL, DSL_CHANNEL, TEACHER, bot_added, card_action, message

URL = "http://127.0.0.1:9/"


def _bodies() -> list[dict[str, Any]]:
    plain = message(TEACHER, "hello", URL)
    with_files = message(
        TEACHER,
        "<at>Online Safety</at> look",
        URL,
        scope="channel",
        conversation_id=DSL_CHANNEL,
        attachments=[
            {"contentType": "text/html", "content": "<p><img src='x'></p>"},
            {"contentType": "image/png", "contentUrl": "https://x/y.png", "name": "y.png"},
        ],
    )
    with_files["entities"] = [
        {"type": "mention", "text": "<at>Online Safety</at>", "mentioned": {"id": BOT_ID}},
        {"type": "clientInfo", "locale": "en-GB", "country": "GB"},
    ]
    click = card_action(DSL, "concern.ack", URL, data={"verb": "concern.ack", "ref": "C-1"})
    action = message(TEACHER, "", URL)
    action.update(
        type="invoke",
        name="composeExtension/submitAction",
        value={"commandId": "report", "messagePayload": {"id": "1", "body": {"content": "x"}}},
    )
    odd: list[dict[str, Any]] = []
    for key, value in (
        ("from", "not an account"),
        ("from", {"id": 5, "aadObjectId": ["x"]}),
        ("entities", "not a list"),
        ("entities", [None, {"type": 1}]),
        ("attachments", [{"contentType": 5, "content": {"a": [1, {"b": None}]}}]),
        ("timestamp", "not a date"),
        ("timestamp", 1700000000),
        ("membersAdded", [{}, {"id": None}, "x"]),
        ("conversation", {"id": "a:1", "isGroup": "yes", "somethingNew": {"k": 1}}),
        ("somethingNew", {"nested": [1, 2]}),
        ("text", 12),
        ("textFormat", "plain"),
        ("channelData", ["a", "list"]),
        ("value", None),
        ("localTimestamp", "2026-11-23T10:00:00.000+01:00"),
        ("suggestedActions", {"to": ["x"], "actions": [{"type": "imBack", "value": "v"}]}),
    ):
        body = copy.deepcopy(plain)
        body[key] = value
        odd.append(body)
    return [
        plain,
        with_files,
        click,
        action,
        bot_added(TEACHER, URL),
        {"type": "message"},
        {},
        *odd,
    ]


def _outcome(read: Any, body: dict[str, Any]) -> tuple[str, Any]:
    try:
        activity = read(copy.deepcopy(body))
    except Exception as exc:
        return "refused", type(exc)
    return "read", activity


@pytest.mark.parametrize("body", _bodies())
def test_an_activity_is_read_as_msrest_reads_it(body: dict[str, Any]) -> None:
    fast = ActivityDeserializer(Activity._infer_class_models())
    mine = _outcome(lambda b: fast("Activity", b), body)
    usual = _outcome(Activity.deserialize, body)
    assert mine[0] == usual[0]
    assert mine[1] == usual[1]
    if mine[0] == "read":  # Model.__eq__ compares attributes; the extra keys as well
        assert vars(mine[1]) == vars(usual[1])
        assert mine[1].serialize() == usual[1].serialize()


def test_extra_keys_are_kept_as_msrest_keeps_them() -> None:
    body = message(TEACHER, "hello", URL)
    body["somethingNew"] = {"a": 1}
    body["from"]["unknownKey"] = [1]
    fast = ActivityDeserializer(Activity._infer_class_models())
    activity = fast("Activity", body)
    assert activity.additional_properties == {"somethingNew": {"a": 1}}
    assert activity.from_property.additional_properties == {"unknownKey": [1]}
    assert activity.from_property.aad_object_id == TEACHER
