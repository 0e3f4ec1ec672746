"""Opening the store for these settings: the one place that knows which store and which keys."""

from __future__ import annotations

from bot.config import Settings
from store.crypto import RecordCipher, parse_key
from store.tinydb_store import TinyDbStore


def cipher_for(settings: Settings) -> RecordCipher | None:
    """The record cipher for the configured keys (None when none is configured: local mode)."""
    if not settings.encryption_keys:
        return None
    return RecordCipher([parse_key(k.get_secret_value()) for k in settings.encryption_keys])


async def open_store(settings: Settings, *, read_only: bool = False) -> TinyDbStore:
    """The embedded store in ``settings.data_dir`` (read-only for reports while the bot runs).

    Raises:
        StoreLocked, StoreCorrupted: the folder cannot be used.
    """
    return await TinyDbStore.open(
        settings.data_dir, read_only=read_only, cipher=cipher_for(settings)
    )
