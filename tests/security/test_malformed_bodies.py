"""Malformed bodies are the sender's mistake (issue 22, item 3): deeply nested JSON and an
unknown charset are answered 4xx, never 500, and the bot keeps answering afterwards."""

from __future__ import annotations

import json

import pytest

from tests.conftest import BotClient
from tests.support import TEACHER, FakeConnector, message


def nested(depth: int) -> bytes:
    """A JSON activity whose ``value`` is ``depth`` arrays deep (valid JSON)."""
    return b'{"type": "message", "value": ' + b"[" * depth + b"]" * depth + b"}"


async def send(bot: BotClient, body: bytes, content_type: str) -> tuple[int, str]:
    async with bot.session.post(
        f"{bot.base}/api/messages", data=body, headers={"Content-Type": content_type}
    ) as response:
        return response.status, await response.text()


async def still_answers(bot: BotClient, connector: FakeConnector) -> None:
    status, _ = await bot.post(message(TEACHER, "hi", connector.url))
    assert status in {200, 201}


@pytest.mark.parametrize("depth", [2_000, 50_000, 100_000])
async def test_json_nested_thousands_deep_is_a_400(
    bot: BotClient, connector: FakeConnector, depth: int
) -> None:
    status, text = await send(bot, nested(depth), "application/json")

    assert status == 400
    assert json.loads(text) == {"error": "body is nested too deeply"}
    await still_answers(bot, connector)


async def test_nesting_within_the_limit_is_still_read(
    bot: BotClient, connector: FakeConnector
) -> None:
    # 30 levels inside the activity is far more than Teams sends, and well inside the limit.
    activity = message(TEACHER, "hi", connector.url)
    activity["channelData"]["deep"] = json.loads("[" * 30 + "]" * 30)

    status, _ = await send(bot, json.dumps(activity).encode(), "application/json")

    assert status in {200, 201}


async def test_brackets_inside_strings_do_not_count_as_nesting(
    bot: BotClient, connector: FakeConnector
) -> None:
    activity = message(TEACHER, "[" * 5_000 + "{" * 5_000, connector.url)

    status, _ = await send(bot, json.dumps(activity).encode(), "application/json")

    assert status in {200, 201}


@pytest.mark.parametrize("charset", ["x-bogus-42", "utf-16", "latin-1"])
async def test_a_charset_other_than_utf8_is_refused(
    bot: BotClient, connector: FakeConnector, charset: str
) -> None:
    body = json.dumps(message(TEACHER, "hi", connector.url)).encode()

    status, text = await send(bot, body, f"application/json; charset={charset}")

    assert status == 415
    assert "utf-8" in json.loads(text)["error"]
    await still_answers(bot, connector)


@pytest.mark.parametrize("charset", ["utf-8", "UTF-8", "utf8", '"utf-8"'])
async def test_utf8_by_any_spelling_is_read(
    bot: BotClient, connector: FakeConnector, charset: str
) -> None:
    body = json.dumps(message(TEACHER, "hi", connector.url)).encode()

    status, _ = await send(bot, body, f"application/json; charset={charset}")

    assert status in {200, 201}


async def test_bytes_that_are_not_utf8_are_a_400(bot: BotClient, connector: FakeConnector) -> None:
    body = json.dumps(message(TEACHER, "hi", connector.url)).encode()
    body = body.replace(b'"hi"', b'"h\xff\xfei"')

    status, _ = await send(bot, body, "application/json")

    assert status == 400
