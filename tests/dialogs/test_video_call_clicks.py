"""Characterisation of the two video-call clicks that change an item: deciding a recording
request and sending a 1:1 call log.

Each outcome (a fresh click, Teams retrying a click that worked, an out-of-date card, a Teams
automatic refresh, someone else first, the wrong person, bad input, the store down) is pinned
as everything a user or an auditor would notice: the card the clicker gets back (its JSON, byte
for byte), the audit entries it added, the outbox messages it queued, the item as stored and the
cards then delivered. The expected values are in ``golden/video_call_clicks.json``, recorded
from the handlers before they moved onto ``dialogs.handling.decide``; any change to them is a
change of behaviour and must be made on purpose (``VIDEO_CALL_GOLDEN=update`` rewrites the file).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from dialogs.outbox import OUTBOX
from dialogs.ports import Change, DirectoryUnavailable, Record, StoreUnavailable
from dialogs.router import Reply
from tests.dialogs.conftest import School
from tests.dialogs.test_video_call import (
    REC,
    log_card,
    log_fields,
    request_for_recording,
)
from tests.support import DEPUTY_HEAD, HEAD_OF_DEPARTMENT, TEACHER, button

GOLDEN = Path(__file__).parent / "golden" / "video_call_clicks.json"
UPDATE = os.environ.get("VIDEO_CALL_GOLDEN") == "update"
_recorded: dict[str, Any] = {}

DECIDE = "call.recording.decide"
SUBMIT = "call.log.submit"
LOG = "LOG-2026-0001"


async def observe(
    s: School, kind: str, ref: str, click: Callable[[], Awaitable[Reply]]
) -> dict[str, Any]:
    """Everything one click is seen to do."""
    audit_before = len(await s.audit())
    outbox_before = {r.id for r in await s.find(OUTBOX)}
    posted_before = len(s.messenger.posted)
    reply = await click()
    record = await s.store.get(kind, ref)
    queued = [r.data for r in await s.find(OUTBOX) if r.id not in outbox_before]
    audit = [(e.actor, e.action, e.item, e.outcome) for e in (await s.audit())[audit_before:]]
    await s.settle()
    return {
        "reply": {"card": reply.card, "text": reply.text},
        "audit": [list(a) for a in audit],
        "outbox": sorted(queued, key=lambda d: json.dumps(d, sort_keys=True)),
        "stored": None if record is None else {"version": record.version, "data": record.data},
        # In no set order: each outbox message is delivered on its own.
        "delivered": sorted(
            (
                [where, dict(m.card) if m.card else m.text]
                for where, m in s.messenger.posted[posted_before:]
            ),
            key=lambda d: json.dumps(d, sort_keys=True),
        ),
    }


def matches_golden(name: str, seen: dict[str, Any]) -> None:
    # A check's id is random (uuid4): the only value that differs from run to run.
    seen = json.loads(re.sub(r"\b[0-9a-f]{32}\b", "<uuid>", json.dumps(seen, default=str)))
    if UPDATE:
        _recorded[name] = seen
        known = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else {}
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps({**known, **_recorded}, indent=1, sort_keys=True) + "\n")
        return
    expected = json.loads(GOLDEN.read_text())[name]
    assert seen == expected


def racing(s: School, first: Callable[[], Awaitable[Any]], monkeypatch: Any) -> None:
    """The next commit of a record finds ``first`` (another click) got in just before it."""
    real = s.store.commit
    state = {"raced": False}

    async def commit(change: Change) -> Any:
        if change.records and not state["raced"]:
            state["raced"] = True
            await first()
        return await real(change)

    monkeypatch.setattr(s.store, "commit", commit)


def store_down(s: School, monkeypatch: Any) -> None:
    """Every commit of a record fails as a store that cannot be reached."""
    real = s.store.commit

    async def commit(change: Change) -> Any:
        if change.records:
            raise StoreUnavailable("down")
        return await real(change)

    monkeypatch.setattr(s.store, "commit", commit)


# ----- deciding a recording request ------------------------------------------------------------


def decide_click(
    s: School, who: str, data: dict[str, Any], **where: Any
) -> Callable[[], Awaitable[Reply]]:
    return lambda: s.act(who, DECIDE, data, **where)


async def decided(s: School, request: dict[str, Any]) -> dict[str, Any]:
    """The request decided (approved) by the Deputy Head; the approve button's data."""
    approve = button(request, DECIDE, decision="approve")
    await s.act(DEPUTY_HEAD, DECIDE, approve, activity_id="first-click")
    await s.settle()
    return approve


RECORDING_CASES: dict[str, Callable[[School, dict[str, Any], Any], Awaitable[Any]]] = {}


def recording_case(name: str) -> Callable[[Any], Any]:
    def register(fn: Any) -> Any:
        RECORDING_CASES[name] = fn
        return fn

    return register


@recording_case("approve")
async def _approve(s: School, request: dict[str, Any], mp: Any) -> Any:
    return decide_click(s, DEPUTY_HEAD, button(request, DECIDE, decision="approve"))


@recording_case("decline")
async def _decline(s: School, request: dict[str, Any], mp: Any) -> Any:
    data = {**button(request, DECIDE, decision="decline"), "reason": "Use the notes instead"}
    return decide_click(s, DEPUTY_HEAD, data)


@recording_case("decline-without-reason")
async def _no_reason(s: School, request: dict[str, Any], mp: Any) -> Any:
    data = {**button(request, DECIDE, decision="decline"), "reason": " "}
    return decide_click(s, DEPUTY_HEAD, data)


@recording_case("no-decision")
async def _junk(s: School, request: dict[str, Any], mp: Any) -> Any:
    return decide_click(s, DEPUTY_HEAD, {**button(request, DECIDE), "decision": "maybe"})


@recording_case("retry-of-a-click-that-worked")
async def _retry(s: School, request: dict[str, Any], mp: Any) -> Any:
    approve = await decided(s, request)
    return decide_click(s, DEPUTY_HEAD, approve, activity_id="first-click")


@recording_case("second-click-once-decided")
async def _again(s: School, request: dict[str, Any], mp: Any) -> Any:
    await decided(s, request)
    data = {**button(request, DECIDE, decision="decline"), "reason": "Changed my mind"}
    return decide_click(s, DEPUTY_HEAD, data)


@recording_case("current-card-once-decided")
async def _current_once_decided(s: School, request: dict[str, Any], mp: Any) -> Any:
    approve = await decided(s, request)
    return decide_click(s, DEPUTY_HEAD, {**approve, "ver": 2})


@recording_case("stale-card")
async def _stale(s: School, request: dict[str, Any], mp: Any) -> Any:
    return decide_click(s, DEPUTY_HEAD, {**button(request, DECIDE), "ver": 7})


@recording_case("automatic-refresh")
async def _automatic(s: School, request: dict[str, Any], mp: Any) -> Any:
    return decide_click(s, DEPUTY_HEAD, button(request, DECIDE), trigger="automatic")


@recording_case("automatic-refresh-once-decided")
async def _automatic_decided(s: School, request: dict[str, Any], mp: Any) -> Any:
    approve = await decided(s, request)
    return decide_click(s, DEPUTY_HEAD, approve, trigger="automatic")


@recording_case("someone-else-first")
async def _conflict(s: School, request: dict[str, Any], mp: Any) -> Any:
    approve = button(request, DECIDE, decision="approve")
    racing(s, lambda: s.act(DEPUTY_HEAD, DECIDE, approve), mp)
    data = {**button(request, DECIDE, decision="decline"), "reason": "No"}
    return decide_click(s, DEPUTY_HEAD, data)


@recording_case("same-click-twice-at-once")
async def _duplicate(s: School, request: dict[str, Any], mp: Any) -> Any:
    approve = button(request, DECIDE, decision="approve")
    racing(s, lambda: s.act(DEPUTY_HEAD, DECIDE, approve, activity_id="twice"), mp)
    return decide_click(s, DEPUTY_HEAD, approve, activity_id="twice")


@recording_case("wrong-person-teacher")
async def _teacher(s: School, request: dict[str, Any], mp: Any) -> Any:
    return decide_click(s, TEACHER, button(request, DECIDE, decision="approve"))


@recording_case("own-request")
async def _own(s: School, request: dict[str, Any], mp: Any) -> Any:
    record = await s.store.get("recording_request", REC)
    assert record is not None
    mine = {**record.data, "requester_id": DEPUTY_HEAD, "requester": DEPUTY_HEAD}
    await s.store.commit(Change(records=[Record(record.kind, record.id, 2, mine)]))
    return decide_click(s, DEPUTY_HEAD, {**button(request, DECIDE, decision="approve"), "ver": 2})


@recording_case("not-found")
async def _missing(s: School, request: dict[str, Any], mp: Any) -> Any:
    data = {**button(request, DECIDE, decision="approve"), "ref": "REC-2026-9999"}
    return decide_click(s, DEPUTY_HEAD, data)


@recording_case("store-unavailable")
async def _down(s: School, request: dict[str, Any], mp: Any) -> Any:
    store_down(s, mp)
    return decide_click(s, DEPUTY_HEAD, button(request, DECIDE, decision="approve"))


@pytest.mark.parametrize("case", sorted(RECORDING_CASES))
async def test_deciding_a_recording_request(
    school: School, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    request = await request_for_recording(school)
    click = await RECORDING_CASES[case](school, request, monkeypatch)

    seen = await observe(school, "recording_request", REC, click)

    matches_golden(f"recording/{case}", seen)


# ----- sending a 1:1 call log -----------------------------------------------------------------


LOG_CASES: dict[str, Callable[[School, dict[str, Any], Any], Awaitable[Any]]] = {}


def log_case(name: str) -> Callable[[Any], Any]:
    def register(fn: Any) -> Any:
        LOG_CASES[name] = fn
        return fn

    return register


def submit_click(
    s: School, who: str, data: dict[str, Any], **where: Any
) -> Callable[[], Awaitable[Reply]]:
    return lambda: s.act(who, SUBMIT, data, **where)


async def sent(s: School, form: dict[str, Any]) -> dict[str, Any]:
    data = log_fields(form)
    await s.act(TEACHER, SUBMIT, data, activity_id="first-send")
    await s.settle()
    return data


@log_case("send")
async def _send(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(s, TEACHER, log_fields(form))


@log_case("send-to-every-head")
async def _send_every(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(s, TEACHER, log_fields(form, hod="all"))


@log_case("send-to-one-head")
async def _send_one(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(s, TEACHER, log_fields(form, hod=HEAD_OF_DEPARTMENT))


@log_case("bad-input")
async def _bad(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(s, TEACHER, log_fields(form, purpose=" ", duration="x"))


@log_case("retry-of-a-click-that-worked")
async def _log_retry(s: School, form: dict[str, Any], mp: Any) -> Any:
    data = await sent(s, form)
    return submit_click(s, TEACHER, data, activity_id="first-send")


@log_case("second-click-once-sent")
async def _log_again(s: School, form: dict[str, Any], mp: Any) -> Any:
    data = await sent(s, form)
    return submit_click(s, TEACHER, data)


@log_case("current-card-once-sent")
async def _log_current(s: School, form: dict[str, Any], mp: Any) -> Any:
    data = await sent(s, form)
    return submit_click(s, TEACHER, {**data, "ver": 2})


@log_case("stale-card")
async def _log_stale(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(s, TEACHER, {**log_fields(form), "ver": 7})


@log_case("automatic-refresh")
async def _log_automatic(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(s, TEACHER, log_fields(form), trigger="automatic")


@log_case("automatic-refresh-once-sent")
async def _log_automatic_sent(s: School, form: dict[str, Any], mp: Any) -> Any:
    data = await sent(s, form)
    return submit_click(s, TEACHER, data, trigger="automatic")


@log_case("someone-else-first")
async def _log_conflict(s: School, form: dict[str, Any], mp: Any) -> Any:
    data = log_fields(form)
    racing(s, lambda: s.act(TEACHER, SUBMIT, data), mp)
    return submit_click(s, TEACHER, data)


@log_case("same-click-twice-at-once")
async def _log_duplicate(s: School, form: dict[str, Any], mp: Any) -> Any:
    data = log_fields(form)
    racing(s, lambda: s.act(TEACHER, SUBMIT, data, activity_id="twice"), mp)
    return submit_click(s, TEACHER, data, activity_id="twice")


@log_case("wrong-person")
async def _log_wrong(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(s, HEAD_OF_DEPARTMENT, log_fields(form))


@log_case("in-a-channel")
async def _log_channel(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(
        s, TEACHER, log_fields(form), scope="channel", conversation_id="19:general@thread"
    )


@log_case("not-found")
async def _log_missing(s: School, form: dict[str, Any], mp: Any) -> Any:
    return submit_click(s, TEACHER, {**log_fields(form), "ref": "LOG-2026-9999"})


@log_case("store-unavailable")
async def _log_down(s: School, form: dict[str, Any], mp: Any) -> Any:
    store_down(s, mp)
    return submit_click(s, TEACHER, log_fields(form))


def directory_down(s: School, mp: Any) -> None:
    async def members(role: Any) -> Any:
        raise DirectoryUnavailable("down")

    mp.setattr(s.directory, "members", members)


@log_case("directory-down-one-head-chosen")
async def _log_directory_one(s: School, form: dict[str, Any], mp: Any) -> Any:
    directory_down(s, mp)
    return submit_click(s, TEACHER, log_fields(form, hod=HEAD_OF_DEPARTMENT))


@log_case("directory-down-every-head")
async def _log_directory_every(s: School, form: dict[str, Any], mp: Any) -> Any:
    data = log_fields(form, hod="all")
    directory_down(s, mp)
    return submit_click(s, TEACHER, data)


@pytest.mark.parametrize("case", sorted(LOG_CASES))
async def test_sending_a_call_log(
    school: School, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = await log_card(school)
    click = await LOG_CASES[case](school, form, monkeypatch)

    seen = await observe(school, "call_log", LOG, click)

    matches_golden(f"call_log/{case}", seen)


async def test_the_golden_file_pins_every_case() -> None:
    names = {f"recording/{c}" for c in RECORDING_CASES} | {f"call_log/{c}" for c in LOG_CASES}
    assert set(json.loads(GOLDEN.read_text())) == names
