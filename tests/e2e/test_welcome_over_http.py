"""Over real HTTP into /api/messages: each role sees only its own actions; invokes answer 200."""

from __future__ import annotations

import io

import pytest

from tests.conftest import BotClient
from tests.support import (
    CHAIR_OF_GOVERNORS,
    DEPUTY_DSL,
    DSL,
    DSL_CHANNEL,
    HEADTEACHER,
    IT,
    PUPIL,
    STRANGER,
    TEACHER,
    YOUNG_PUPIL,
    FakeConnector,
    assert_valid_card,
    bot_added,
    card_action,
    card_buttons,
    card_texts,
    message,
)

STAFF_BASE = [
    "Report a concern",
    "Request a filter change",
    "Blocked but I need it",  # issue 21: over-blocking reports
    "Check a video call",
    "Check my next lessons",
    "Sensitive lesson notice",  # issue 21: tell monitoring about a sensitive lesson
    "My reports",
]
LEAD_TOOLS = [
    "Open items",
    "Incident log",
    "Filter log",
    "Open filter items",  # issue 21: every open filter request and report, for its deciders
    "Governors' report",
    "Help",
]
PUPIL_MENU = ["Tell us about a worry", "My reports", "Get help"]

EXPECTED_MENUS = {
    PUPIL: PUPIL_MENU,
    YOUNG_PUPIL: PUPIL_MENU,
    TEACHER: [*STAFF_BASE, "Help"],
    HEADTEACHER: [*STAFF_BASE, "Governors' report", "Help"],
    DSL: [*STAFF_BASE, *LEAD_TOOLS],
    DEPUTY_DSL: [*STAFF_BASE, *LEAD_TOOLS],
    IT: [*STAFF_BASE, "Filter log", "Open filter items", "Help"],
}


@pytest.mark.parametrize("who", list(EXPECTED_MENUS), ids=lambda w: w[-4:])
async def test_any_message_gets_the_welcome_card_with_only_that_roles_actions(
    bot: BotClient, connector: FakeConnector, who: str
) -> None:
    status, _ = await bot.post(message(who, "hello", connector.url))

    assert status in (200, 201)
    [card] = connector.cards()
    assert_valid_card(card)
    assert [title for title, _ in card_buttons(card)] == EXPECTED_MENUS[who]


async def test_adding_the_bot_greets_with_the_welcome_card(
    bot: BotClient, connector: FakeConnector
) -> None:
    await bot.post(bot_added(TEACHER, connector.url))

    [card] = connector.cards()
    assert [t for t, _ in card_buttons(card)] == [*STAFF_BASE, "Help"]


async def test_unknown_text_gets_help_not_an_error(
    bot: BotClient, connector: FakeConnector
) -> None:
    status, _ = await bot.post(message(TEACHER, "what is the wifi password??", connector.url))

    assert status in (200, 201)
    [card] = connector.cards()
    assert "Here is what I can do." in card_texts(card)
    assert card_buttons(card)


async def test_pupil_card_is_warm_and_never_shows_staff_tools(
    bot: BotClient, connector: FakeConnector
) -> None:
    await bot.post(message(PUPIL, "hi", connector.url))

    [card] = connector.cards()
    texts = " ".join(card_texts(card))
    assert texts.startswith("Hi Ava")
    assert "people who keep pupils safe" in texts
    verbs = {verb for _, verb in card_buttons(card)}
    assert verbs == {"worry.start", "reports.mine", "help"}


@pytest.mark.parametrize("who", [STRANGER, CHAIR_OF_GOVERNORS])
async def test_someone_with_no_staff_or_pupil_role_is_told_who_to_contact(
    bot: BotClient, connector: FakeConnector, who: str
) -> None:
    await bot.post(message(who, "hello", connector.url))

    [card] = connector.cards()
    assert_valid_card(card)
    texts = " ".join(card_texts(card))
    if who == STRANGER:
        assert "contact the IT office" in texts
        assert card_buttons(card) == []


async def test_channel_shows_channel_tools_only(bot: BotClient, connector: FakeConnector) -> None:
    await bot.post(
        message(DSL, "menu", connector.url, scope="channel", conversation_id=DSL_CHANNEL)
    )

    [card] = connector.cards()
    assert [t for t, _ in card_buttons(card)] == [
        "Open items",
        "Incident log",
        "Filter log",
        "Open filter items",  # issue 21
        "Help",
    ]


async def test_card_action_invoke_over_http_returns_200_with_a_card_body(
    bot: BotClient, connector: FakeConnector
) -> None:
    status, body = await bot.post(card_action(TEACHER, "help", connector.url))

    assert status == 200
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert_valid_card(body["value"])
    assert "How this bot works" in card_texts(body["value"])
    assert connector.posted == []  # an invoke is answered in its response, not by a post


async def test_a_pupil_clicking_a_staff_action_is_refused_kindly_and_audited(
    bot: BotClient, connector: FakeConnector
) -> None:
    from bot.app import COMPONENTS

    status, body = await bot.post(card_action(PUPIL, "filter.start", connector.url))

    assert status == 200
    texts = card_texts(body["value"])
    assert "Sorry, you can't do that here" in texts
    log = await bot.app[COMPONENTS].store.audit_log()
    assert [(e.actor, e.action, e.outcome) for e in log] == [
        (PUPIL, "filter.start", "refused: role does not allow it")
    ]


async def test_a_forged_unknown_verb_is_refused_and_audited(
    bot: BotClient, connector: FakeConnector
) -> None:
    from bot.app import COMPONENTS

    status, body = await bot.post(card_action(TEACHER, "concern.approve_all", connector.url))

    assert status == 200
    assert "That button is not known." in card_texts(body["value"])
    [entry] = await bot.app[COMPONENTS].store.audit_log()
    assert entry.outcome == "refused: unknown action"


async def test_files_sent_in_a_message_are_refused_and_not_fetched(
    bot: BotClient, connector: FakeConnector
) -> None:
    attachment = {
        "contentType": "application/vnd.microsoft.teams.file.download.info",
        "contentUrl": "http://127.0.0.1:9/never-fetched.jpg",
        "name": "photo.jpg",
        "content": {"downloadUrl": "http://127.0.0.1:9/never-fetched.jpg"},
    }
    await bot.post(message(TEACHER, "", connector.url, attachments=[attachment]))

    first = connector.posted[0]
    assert "I don't accept files or pictures" in first["text"]
    assert "nothing you sent was opened or saved" in first["text"]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        ("not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ('{"no": "type"}', "application/json", 400),
        ('{"type": "message"}', "text/plain", 415),
        ("{" + '"a":"' + "x" * (1024 * 1024 + 10) + '"}', "application/json", 413),
    ],
    ids=["bad-json", "array", "no-type", "wrong-content-type", "too-large"],
)
async def test_malformed_bodies_get_4xx_never_500(
    bot: BotClient, body: str, content_type: str, expected: int
) -> None:
    async with bot.session.post(
        f"{bot.base}/api/messages",
        data=io.BytesIO(body.encode()),
        headers={"Content-Type": content_type},
    ) as response:
        assert response.status == expected


async def test_local_mode_refuses_activities_whose_replies_would_leave_the_machine(
    bot: BotClient, connector: FakeConnector
) -> None:
    status, _ = await bot.post(message(TEACHER, "hi", "https://smba.trafficmanager.net/uk/"))

    assert status == 403
    assert connector.posted == []


async def test_healthz_reports_mode_and_store(bot: BotClient) -> None:
    async with bot.session.get(f"{bot.base}/healthz") as response:
        body = await response.json()
    assert response.status == 200
    assert body["status"] == "ok"
    assert body["mode"] == "local"
    assert body["store"]["audit_chain"] == "ok"


async def test_a_get_on_the_messages_endpoint_is_a_4xx(bot: BotClient) -> None:
    async with bot.session.get(f"{bot.base}/api/messages") as response:
        assert 400 <= response.status < 500
