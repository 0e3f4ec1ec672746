"""``BotMessenger``: the Teams service URL it learns is shared, and saving it never fails a turn.

Real botbuilder adapter and connector client, posting over HTTP to the fake Bot Connector; the
store is the in-memory fake (kept honest by the contract suite), made to fail on demand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapter import build_adapter
from bot.config import Settings
from bot.messenger import BotMessenger
from dialogs.ports import Change, DeliveryFailed, Outgoing, StoreUnavailable
from policy.audit import AuditEntry
from store.memory import InMemoryStore
from tests.support import DSL_CHANNEL, FakeConnector


class FlakyStore(InMemoryStore):
    """The in-memory store, whose writes fail while ``broken`` (a full disk, say)."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    async def commit(self, change: Change) -> tuple[AuditEntry, ...]:
        if self.broken:
            raise StoreUnavailable("disk full")
        return await super().commit(change)


def messenger(settings: Settings, store: Any) -> BotMessenger:
    adapter, auth = build_adapter(settings)
    return BotMessenger(adapter, auth, store, app_id=settings.app_id, tenant_id="tenant")


CARD = Outgoing(text="A new concern needs acknowledging")


async def test_a_store_failure_while_saving_the_service_url_does_not_fail_the_turn(
    settings: Settings, connector: FakeConnector
) -> None:
    store = FlakyStore()
    store.broken = True
    bot = messenger(settings, store)

    await bot.remember(connector.url, "28:bot")  # must not raise

    await bot.post(DSL_CHANNEL, CARD)  # the URL is used at once
    assert len(connector.to(DSL_CHANNEL)) == 1
    assert await store.get("bot_state", "service") is None

    store.broken = False
    await bot.remember(connector.url, "28:bot")  # the next turn saves it
    saved = await store.get("bot_state", "service")
    assert saved is not None and saved.data["service_url"] == connector.url


async def test_an_instance_that_never_saw_a_turn_uses_the_url_another_saved(
    settings: Settings, connector: FakeConnector
) -> None:
    store = InMemoryStore()
    first, second = messenger(settings, store), messenger(settings, store)
    await first.load()
    await second.load()  # started before any message reached either

    await first.remember(connector.url, "28:bot")
    await second.post(DSL_CHANNEL, CARD)

    assert len(connector.to(DSL_CHANNEL)) == 1


async def test_with_no_url_known_anywhere_a_post_waits(
    settings: Settings, connector: FakeConnector
) -> None:
    bot = messenger(settings, InMemoryStore())
    with pytest.raises(DeliveryFailed, match="no Teams service URL"):
        await bot.post(DSL_CHANNEL, CARD)
    assert connector.posted == []


def test_reply_bodies_skip_a_validation_walk_that_can_find_nothing() -> None:
    """``BodySerializer`` skips msrest's client-side walk over request bodies: sound only while
    no botbuilder model declares a constraint, and the body sent must be the same."""
    import inspect

    import botbuilder.schema
    import botbuilder.schema.teams
    from botbuilder.core import CardFactory, MessageFactory
    from botbuilder.schema import ChannelAccount, ConversationAccount
    from msrest import Serializer
    from msrest.exceptions import ValidationError

    from bot.adapter import BodySerializer
    from cards.pupil import worry_card
    from policy.actions import Verb

    modules = (botbuilder.schema, botbuilder.schema.teams)
    models = {
        name: cls
        for module in modules
        for name, cls in vars(module).items()
        if inspect.isclass(cls) and hasattr(cls, "_attribute_map")
    }
    assert len(models) > 50
    assert {name for name, cls in models.items() if getattr(cls, "_validation", {})} == set()

    fast, usual = BodySerializer(models), Serializer(models)
    odd = {"at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC), "verb": Verb.MENU, "n": [1, 2.5]}
    for card in (dict(worry_card("f" * 32)), {"type": "AdaptiveCard", "body": [], "x": None}, odd):
        reply = MessageFactory.attachment(CardFactory.adaptive_card(card))
        reply.text = "Received"
        reply.conversation = ConversationAccount(id="a:1", conversation_type="personal")
        reply.from_property = ChannelAccount(id="28:bot")
        sent = fast.body(reply, "Activity")
        assert sent == usual.body(reply, "Activity")
        assert json.dumps(sent, sort_keys=True) == json.dumps(
            usual.body(reply, "Activity"), sort_keys=True
        )
    for model, name in _other_bodies():
        assert _outcome(fast, model, name) == _outcome(usual, model, name), name
    assert fast.client_side_validation  # URL parts are still checked
    with pytest.raises(ValidationError):
        fast.url("conversation_id", None, "str")


def _outcome(serializer: Any, model: Any, name: str) -> tuple[str, Any]:
    try:
        return "sent", serializer.body(model, name)
    except Exception as exc:
        return "refused", type(exc)


def _other_bodies() -> list[tuple[Any, str]]:
    """Bodies beside a card reply: a reply addressed from an incoming activity (with keys no
    model knows, a mention, a timestamp), a proactive conversation, an empty activity, and
    values msrest skips or refuses inside a model (its own ``_serialize`` then decides)."""
    from botbuilder.core import TurnContext
    from botbuilder.schema import (
        Activity,
        CardAction,
        ChannelAccount,
        ConversationAccount,
        ConversationParameters,
        Mention,
        SuggestedActions,
    )

    incoming = Activity.deserialize(
        {
            "type": "message",
            "id": "1:abc",
            "timestamp": "2026-11-23T10:00:00.123Z",
            "serviceUrl": "https://smba.example/uk/",
            "channelId": "msteams",
            "from": {"id": "29:x", "aadObjectId": "oid", "name": "T", "unknownKey": [1]},
            "conversation": {"id": "a:1", "conversationType": "channel", "tenantId": "t"},
            "recipient": {"id": "28:bot", "name": "Online Safety"},
            "entities": [{"type": "mention", "text": "<at>Online Safety</at>"}],
            "channelData": {"tenant": {"id": "t"}, "team": {"id": "19:t"}},
            "locale": "en-GB",
            "somethingNew": {"a": 1},
        }
    )
    reply = Activity(type="message", text="Received", input_hint="acceptingInput")
    TurnContext.apply_conversation_reference(
        reply, TurnContext.get_conversation_reference(incoming)
    )
    reply.entities = [Mention(mentioned=ChannelAccount(id="29:x", name="T"), text="<at>T</at>")]
    reply.suggested_actions = SuggestedActions(
        to=["29:x"], actions=[CardAction(type="imBack", title="Help", value="help")]
    )
    proactive = ConversationParameters(
        is_group=False,
        bot=ChannelAccount(id="28:bot"),
        members=[ChannelAccount(id="oid")],
        tenant_id="t",
        channel_data={"tenant": {"id": "t"}},
        activity=Activity(type="message", text="Hello"),
    )
    odd = Activity(type="message", text=5)  # type: ignore[arg-type]
    odd.timestamp = "not a date"  # type: ignore[assignment]
    bad_list = Activity(type="message", entities="not a list")  # type: ignore[arg-type]
    return [
        (incoming, "Activity"),
        (reply, "Activity"),
        (proactive, "ConversationParameters"),
        (Activity(), "Activity"),
        (odd, "Activity"),
        (bad_list, "Activity"),
        (ConversationAccount(id="a:1"), "ConversationAccount"),
    ]


def test_reply_bodies_of_models_alone_skip_msrest_deserializing_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """msrest's ``body()`` runs a Deserializer over the body first, to turn plain dicts into
    models. ``BodySerializer`` skips it only for models alone (where it changes nothing); with a
    dict, a tuple or a text where a model is expected, msrest still does it, and the
    body sent is msrest's either way."""
    import inspect
    from enum import Enum

    import botbuilder.schema
    import botbuilder.schema.teams
    import msrest.serialization
    from botbuilder.core import CardFactory, MessageFactory
    from botbuilder.schema import Activity, ChannelAccount, ConversationAccount
    from msrest import Serializer

    from bot.adapter import BodySerializer
    from cards.pupil import worry_card

    models = {
        name: cls
        for module in (botbuilder.schema, botbuilder.schema.teams)
        for name, cls in vars(module).items()
        if inspect.isclass(cls) and (hasattr(cls, "_attribute_map") or issubclass(cls, Enum))
    }
    built: list[object] = []

    class Counting(msrest.serialization.Deserializer):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built.append(self)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(msrest.serialization, "Deserializer", Counting)

    def card_reply() -> Any:
        reply = MessageFactory.attachment(CardFactory.adaptive_card(dict(worry_card("f" * 32))))
        reply.conversation = ConversationAccount(id="a:1", conversation_type="personal")
        reply.from_property = ChannelAccount(id="28:bot")
        return reply

    def with_dict_sender() -> Any:
        reply = card_reply()
        reply.from_property = {"id": "28:bot", "name": "Online Safety"}
        return reply

    def with_dict_attachment() -> Any:
        reply = card_reply()
        reply.attachments = [{"contentType": "text/plain", "content": "hi"}]
        return reply

    def with_tuple_of_members() -> Any:
        reply = card_reply()
        reply.members_added = (ChannelAccount(id="29:x"),)
        return reply

    def with_text_sender() -> Any:
        reply = card_reply()
        reply.from_property = "28:bot"
        return reply

    for make, skipped in (
        (card_reply, True),
        (lambda: Activity(), True),
        (with_dict_sender, False),
        (with_dict_attachment, False),
        (with_tuple_of_members, False),
        (with_text_sender, False),
    ):
        built.clear()
        fast = _outcome(BodySerializer(models), make(), "Activity")
        assert (built == []) is skipped, make
        assert fast == _outcome(Serializer(models), make(), "Activity"), make
