"""``python -m ops rotate-key``: make a key, or re-encrypt every record with the current key.

    python -m ops rotate-key --new-key      print a new random AES-256 key (base64)
    script/rotate-key                       re-seal all records with BOT_ENCRYPTION_KEY

To rotate: make a new key; set it as BOT_ENCRYPTION_KEY and move the old one into
BOT_ENCRYPTION_OLD_KEYS; stop the bot; run script/rotate-key; start the bot; once it reports
0 records left on old keys, remove the old key. Also used once to encrypt a store that was
created without a key. Safe to run again after an interruption. The bot must be stopped
(the store's single-writer lock is taken).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import UTC, datetime

from bot.config import ConfigError, load_settings
from bot.storage import open_store
from dialogs.ports import Change, StoreError
from policy.audit import AuditEvent
from store.crypto import new_key

log = logging.getLogger("ops.rotate_key")


async def rotate() -> int:
    """Re-seal every record with the current key; returns how many were rewritten."""
    settings = load_settings(os.environ)
    if not settings.encryption_keys:
        raise ConfigError(["BOT_ENCRYPTION_KEY: set the key to encrypt with"])
    store = await open_store(settings)
    try:
        changed = await store.reseal()
        await store.commit(
            Change(
                audit=[
                    AuditEvent(
                        "system",
                        "encryption.rotate",
                        "",
                        f"{changed} records re-sealed",
                        datetime.now(UTC),
                    )
                ]
            )
        )
        return changed
    finally:
        await store.close()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    logging.basicConfig(level="INFO", format="%(levelname)s %(message)s")
    parser = argparse.ArgumentParser(
        prog="python -m ops rotate-key",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--new-key", action="store_true", help="print a new random key and exit")
    args = parser.parse_args(argv)
    if args.new_key:
        sys.stdout.write(new_key() + "\n")
        return 0
    try:
        changed = asyncio.run(rotate())
    except (ConfigError, StoreError) as exc:
        log.error("cannot rotate: %s", exc)
        return 2
    log.info("re-sealed %d records with the current key", changed)
    return 0
