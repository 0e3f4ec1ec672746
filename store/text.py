"""Both stores clean what they write (issue 22, item 2), whatever the caller passed.

The bot cleans text where it arrives (``bot.app``); this is the store's own guard, so no path
into a store (a use case, a command, a migration) can make a commit fail on a character that
UTF-8 or PostgreSQL cannot hold. See ``policy.text``.
"""

from __future__ import annotations

from dataclasses import replace

from dialogs.ports import Change
from policy.text import clean_text, clean_value


def clean_change(change: Change, *, records: bool = True) -> Change:
    """``change`` with lone surrogates and NUL replaced in every record's data, audit field
    and dedupe key (the records left as they are when ``records`` is False: a caller that has
    found them clean)."""
    cleaned = [replace(r, data=clean_value(r.data)) for r in change.records] if records else None
    audit = [
        replace(
            e,
            actor=clean_text(e.actor),
            action=clean_text(e.action),
            item=clean_text(e.item),
            outcome=clean_text(e.outcome),
        )
        for e in change.audit
    ]
    key = clean_text(change.dedupe_key) if change.dedupe_key is not None else None
    return replace(
        change,
        records=list(change.records) if cleaned is None else cleaned,
        audit=audit,
        dedupe_key=key,
    )
