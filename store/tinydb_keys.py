"""The TinyDB store's keys at rest: which keys seal the records, and resealing them all with the
current key."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from dialogs.ports import (
    StoreUnavailable,
)
from store.crypto import MARK
from store.tinydb_checkpoint import Checkpoints
from store.tinydb_layout import (
    SHARD_MAX_RECORDS,
    encode_doc,
)


@dataclass(frozen=True, slots=True)
class KeySurvey:
    """What seals the records looked at (``TinyDbStore.key_survey``)."""

    #: The ids of the keys (``store.crypto.key_id``) that seal the records looked at.
    sealed_by: frozenset[str]
    #: How many of the records looked at are plain (not sealed).
    plain: int
    #: How many records were looked at.
    looked: int


class Keys(Checkpoints):
    """Surveying and resealing the records' keys."""

    async def key_survey(self, *, every: bool = False) -> KeySurvey:
        """Which keys seal the records, and whether any are plain (checks at start-up).

        By default only the first record of each kind's first partition is looked at (cheap:
        one file per kind); ``every`` looks at every record. With a cipher, each sealed record
        looked at is also opened.

        Raises:
            KeyDoesNotOpen: a sealed record looked at does not open with the configured keys.
            StoreCorrupted: a partition is damaged.
        """
        with self._state:
            self._usable()
        return await asyncio.to_thread(self._key_survey_sync, every)

    def _key_survey_sync(self, every: bool) -> KeySurvey:
        sealed_by: set[str] = set()
        plain = looked = 0
        with self._state:
            shards = [
                s
                for shards in self._kinds.values()
                for s in (shards if every else [x for x in shards if x.versions][:1])
            ]
        for shard in shards:
            with self._pinned(shard):
                with self._state:
                    assert shard.docs is not None
                    raws = list(shard.docs.values()) if every else list(shard.docs.values())[:1]
                for raw in raws:
                    looked += 1
                    stored = json.loads(raw)["data"]
                    if isinstance(stored, dict) and MARK in stored:
                        sealed_by.add(str(stored.get("kid")))
                        if self._cipher is not None:
                            self._record(shard.kind, raw)  # raises if it does not open
                    else:
                        plain += 1
        return KeySurvey(frozenset(sealed_by), plain, looked)

    async def reseal(self) -> int:
        """Re-encrypt every record with the current key (after adding a new key, or when
        encryption is switched on for an existing store). Safe to re-run after a crash."""
        with self._state:
            self._usable(write=True)
        return await self._run(self._reseal_sync)

    def _reseal_sync(self) -> int:
        """Rewrite every record sealed with the current key; returns how many changed.

        Versions stay as they are, so nothing goes through the journal: each partition is
        rewritten by a checkpoint (all or nothing per partition; a crash leaves some sealed
        with the old key, which still opens them, and re-running finishes the job)."""
        if self._cipher is None:
            raise StoreUnavailable("no encryption key is configured")
        changed = 0
        with self._state:
            shards = [s for shards in self._kinds.values() for s in shards]
        pending = 0
        for shard in shards:
            with self._pinned(shard), self._state:
                assert shard.docs is not None
                for item_id, raw in list(shard.docs.items()):
                    doc = json.loads(raw)
                    if self._cipher.needs_reseal(doc["data"]):
                        data = self._cipher.open(shard.kind, item_id, doc["data"])
                        sealed = self._cipher.seal(shard.kind, item_id, data)
                        doc_raw = encode_doc(item_id, doc["version"], doc["schema"], sealed)
                        self._put(shard, item_id, doc["version"], doc_raw, self._lsn)
                        changed += 1
                        pending += 1
            if pending >= SHARD_MAX_RECORDS:
                self._checkpoint_or_fail()
                pending = 0
        self._checkpoint_or_fail()
        self._remove_empty_journal()  # no older (maybe plain) copy of a record is left there
        return changed
