"""Who has a concern's detail open over its channel card, so that it stays open for them.

A DSL working through a concern opens its detail (shown to them alone, over the channel card
everyone sees). Every change to the concern updates the channel card for everyone, which would
fold their view back to the summary; so the channel card carries a per-user refresh
(``refresh.userIds``) for the handlers listed here, and Teams asks the bot again for each of
them. A handler joins the list by clicking Open and leaves it with "Close details".

This is view state, not a safeguarding record: it holds ids only, and losing it only means
someone clicks Open again. Nothing here is audited or reported.
"""

from __future__ import annotations

from dialogs.ports import Change, Record, Store, StoreError

KIND = "concern_view"


async def viewers(store: Store, ref: str) -> tuple[str, ...]:
    """The Entra object ids of the handlers who have ``ref``'s detail open, first opened first."""
    record = await store.get(KIND, ref)
    return tuple(record.data.get("viewers", ())) if record else ()


async def set_viewing(store: Store, ref: str, person_id: str, *, viewing: bool) -> None:
    """Add ``person_id`` to (or remove them from) those who have ``ref``'s detail open.

    Two handlers clicking at once: the loser tries again once; if the store cannot take it, the
    view simply folds on the next change (nothing is lost).
    """
    for _ in range(2):
        record = await store.get(KIND, ref)
        now = tuple(record.data.get("viewers", ())) if record else ()
        if viewing:
            wanted = now if person_id in now else (*now, person_id)
        else:
            wanted = tuple(v for v in now if v != person_id)
        if wanted == now:
            return
        version = record.version + 1 if record else 1
        try:
            await store.commit(
                Change(records=[Record(KIND, ref, version, {"viewers": list(wanted)})])
            )
            return
        except StoreError:
            continue
