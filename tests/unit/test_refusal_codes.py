"""What the audit log may say about a refusal: the server's verb and a rule's fixed code.

A rule's message is for the person who clicked, and may name people or repeat what the card
sent; the audit log gets the rule's ``code`` instead (issue 22, item 6). Refusals are audited
under the verb the server is running, never the ``verb`` the card data claims.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dialogs.feature import Deps
from dialogs.handling import refuse
from dialogs.ports import FixedClock
from dialogs.router import ActionContext, Scope, Turn
from policy.actions import Verb
from policy.concerns import Concern, InvalidTransition, Source, acknowledge, record_action
from policy.errors import PolicyError
from policy.filtering import FilterRuleBroken
from policy.roles import Person, Role
from store.memory import InMemoryStore
from tests.support import ROOT

AT = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
DSL = Person("dsl", "Fiona Blake", frozenset({Role.DSL, Role.STAFF}))
DEPUTY = Person("deputy", "Tom Hughes", frozenset({Role.DEPUTY_DSL, Role.STAFF}))
RULE_ERRORS = {InvalidTransition.__name__, FilterRuleBroken.__name__}


def concern() -> Concern:
    return Concern(
        ref="OSC-2026-0001",
        source=Source.STAFF,
        category="cyberbullying",
        urgent=False,
        reporter_id="teacher",
        reporter_name="Daniel Okafor",
        created_at=AT,
        year_group="Year 8",
        involved="A child",
        what_happened="Details",
    )


def rule_raises() -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted((ROOT / "policy").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", "")
                if name in RULE_ERRORS:
                    found.append((f"{Path(path).name}:{node.lineno}", node.exc))
    return found


def test_the_rules_are_raised_somewhere() -> None:
    assert len(rule_raises()) > 20


@pytest.mark.parametrize(("where", "call"), rule_raises(), ids=lambda v: str(v)[:40])
def test_every_rule_error_carries_a_fixed_code(where: str, call: ast.Call) -> None:
    codes = [k.value for k in call.keywords if k.arg == "code"]
    assert len(codes) == 1, f"{where}: give it a code= for the audit log"
    [code] = codes
    assert isinstance(code, ast.Constant) and isinstance(code.value, str), (
        f"{where}: the code must be a fixed phrase, never built from names or input"
    )


def test_the_message_may_name_the_handler_but_the_code_does_not() -> None:
    acked = acknowledge(concern(), DSL, AT)

    with pytest.raises(InvalidTransition) as refused:
        acknowledge(acked, DEPUTY, AT)

    assert "Fiona Blake" in str(refused.value)
    assert refused.value.code == "already acknowledged"


def test_what_the_client_sent_is_in_the_message_but_never_the_code() -> None:
    with pytest.raises(InvalidTransition) as refused:
        record_action(concern(), DSL, "CANARY-sent-by-client", "", AT)

    assert "CANARY" in str(refused.value) and "CANARY" not in refused.value.code


def test_a_policy_error_without_a_code_has_the_general_one() -> None:
    assert PolicyError("anything at all").code == "not allowed by the rules"


async def test_a_refusal_is_audited_under_the_servers_verb_not_the_cards() -> None:
    store = InMemoryStore()
    deps = Deps(school=None, store=store, directory=None, clock=FixedClock(AT))  # type: ignore[arg-type]
    ctx = ActionContext(
        DSL,
        Turn(DSL.id, Scope.PERSONAL, activity_id="a-1"),
        {"verb": "x.forged-by-client", "v": 1},
        Verb.CONCERN_CLOSE,
    )

    await refuse(deps, ctx, "not found")

    [entry] = await store.audit_log()
    assert (entry.actor, entry.action, entry.outcome) == (
        "dsl",
        "concern.close",
        "refused: not found",
    )
