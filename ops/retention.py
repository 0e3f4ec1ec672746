"""``python -m ops retention``: list, and with confirmation remove, records past retention.

    script/retention                       list what is past its keep-until date
    script/retention --delete              remove them (asks you to type DELETE)
    script/retention --delete --yes        remove them without asking (for a scheduled job)

Stop the bot first (the store's single-writer lock is taken). Only references, kinds and dates
are printed, never content. Removal deletes each record with its outbox messages, timers and
channel-message ids in one atomic change, and leaves one audit entry listing the references.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.config import ConfigError, load_settings
from bot.storage import open_store
from dialogs.ports import Change, Store, StoreError
from policy.audit import AuditEvent
from policy.categories import Route
from policy.retention import concern_keep_until, keep_until
from policy.school import SchoolPolicy

log = logging.getLogger("ops.retention")

#: Record kinds and the data field holding when each was made.
KINDS = {
    "concern": "created_at",
    "filter_request": "created_at",
    "call_check": "checked_at",
    "recording_request": "created_at",
    "call_log": "created_at",
    # Monitoring (issue 21): alerts, lesson notices, and the signatures kept against replays.
    "monitoring_alert": "received_at",
    "lesson_notice": "created_at",
    "monitoring_nonce": "at",
    "overblock_report": "created_at",
}
#: Records that belong to an item and go with it.
PLUMBING = ("outbox", "timer", "channel_message")
#: Records kept under a concern's own reference, deleted with it.
CONCERN_COMPANIONS = ("concern_view", "pupil_feedback")
#: A hand-off keeps a copy of its concern (``ref`` names it): it goes with the concern.
HANDOFF = "handoff"


@dataclass(frozen=True, slots=True)
class Expired:
    """A record past its keep-until date."""

    kind: str
    id: str
    version: int
    made: date
    keep_until: date


async def find_expired(store: Store, school: SchoolPolicy, today: date) -> list[Expired]:
    """Every record whose keep-until date has passed."""
    found: list[Expired] = []
    for kind, field in KINDS.items():
        for record in await store.find(kind):
            raw = record.data.get(field)
            if not isinstance(raw, str):
                continue
            made = datetime.fromisoformat(raw).astimezone(school.zone).date()
            if kind == "concern":
                category = school.category(str(record.data.get("category")))
                until = concern_keep_until(
                    made,
                    str(record.data.get("year_group") or ""),
                    school.retention,
                    about_staff=category is not None and category.route is Route.HEADTEACHER,
                )
            else:
                until = keep_until(kind, made, school.retention)
            if until < today:
                found.append(Expired(kind, record.id, record.version, made, until))
    return sorted(found, key=lambda e: (e.kind, e.made, e.id))


async def remove(store: Store, expired: list[Expired], now: datetime) -> int:
    """Delete expired records and what hangs off them; one audit entry. Returns records removed."""
    if not expired:
        return 0
    refs = {f"{e.kind}:{e.id}" for e in expired}
    deletes = [(e.kind, e.id, e.version) for e in expired]
    for kind in PLUMBING:
        for record in await store.find(kind):
            subject = record.data.get("subject") or record.id.split("|", 1)[0]
            if subject in refs:
                deletes.append((kind, record.id, record.version))
    concerns = {e.id for e in expired if e.kind == "concern"}
    for item_id in sorted(concerns):
        # What hangs off a concern by its reference goes with it: who had its detail open
        # (dialogs.detail_views) and the messages to the pupil who reported it.
        for kind in CONCERN_COMPANIONS:
            if (companion := await store.get(kind, item_id)) is not None:
                deletes.append((kind, item_id, companion.version))
    for handed in await store.find(HANDOFF):  # the copy of a concern handed off (its pack)
        if handed.data.get("ref") in concerns:
            deletes.append((HANDOFF, handed.id, handed.version))
    listed = ", ".join(sorted(refs))
    await store.commit(
        Change(
            deletes=deletes,
            audit=[
                AuditEvent(
                    "system",
                    "retention.remove",
                    "",
                    f"removed {len(expired)}: {listed}"[:4000],
                    now,
                )
            ],
        )
    )
    return len(expired)


async def run(delete: bool, confirmed: bool) -> int:
    """List (and maybe remove) expired records; returns the exit status."""
    settings = load_settings(os.environ)
    store = await open_store(settings)
    try:
        now = datetime.now(UTC)
        expired = await find_expired(
            store, settings.school, now.astimezone(settings.school.zone).date()
        )
        for item in expired:
            sys.stdout.write(
                f"{item.kind:18} {item.id:24} made {item.made}  keep until {item.keep_until}\n"
            )
        sys.stdout.write(f"{len(expired)} records are past their retention date\n")
        if not delete or not expired:
            return 0
        if not confirmed:
            sys.stdout.write("Type DELETE to remove them for good: ")
            sys.stdout.flush()
            if sys.stdin.readline().strip() != "DELETE":
                sys.stdout.write("Nothing removed.\n")
                return 1
        removed = await remove(store, expired, now)
        sys.stdout.write(f"Removed {removed} records; the audit log records it.\n")
        return 0
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m ops retention",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--delete", action="store_true", help="remove the records listed")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args.delete, args.yes))
    except (ConfigError, StoreError) as exc:
        log.error("cannot run: %s", exc)
        return 2
