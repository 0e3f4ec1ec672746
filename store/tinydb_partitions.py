"""The TinyDB store's partitions: each kind's bounded files, their index always in memory, their
records read when first needed and kept in a small cache; records sealed in and opened out."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dialogs.ports import (
    RECORD_SCHEMA,
    Record,
    StoreCorrupted,
)
from store.crypto import MARK, KeyDoesNotOpen
from store.files import (
    RESTORE,
)
from store.tinydb_audit import AuditLog
from store.tinydb_layout import (
    MANIFEST,
    SHARD_MAX_BYTES,
    SHARD_MAX_RECORDS,
    ParsedShard,
    crc,
    parse_shard,
    parse_shard_file,
    read_header,
    shard_file,
    table,
)
from store.tinydb_state import _Plan, _Shard

log = logging.getLogger("store.tinydb_store")  # one logger for the store, as before the split

#: Records of unchanged partitions kept in memory (most recently used first).
CACHE_BYTES = 8 * 1024 * 1024


class _Overtaken(StoreCorrupted):
    """A read-only open met a partition newer than the manifest it read (a checkpoint is
    under way); it reads again."""


class Partitions(AuditLog):
    """Partitions: found and checked at opening, placed, loaded, cached, changed in memory."""

    def _manifest_of(self, system: Mapping[str, Any]) -> dict[str, Any] | None:
        docs = table(self._system_path, system, MANIFEST)
        if not docs:
            return None
        manifest = docs[0]
        if manifest.get("format") != 2:
            raise StoreCorrupted(
                f"{self._system_path} was written by another version of the bot. {RESTORE}"
            )
        return manifest

    def _shard_files(self) -> dict[tuple[str, int], Path]:
        found = {}
        folder = self._folder / "records"
        if not folder.is_dir():
            return {}
        for path in sorted(folder.glob("*.json")):
            if path.name.startswith("."):
                continue
            key = parse_shard_file(path.name)
            if key is None:
                raise StoreCorrupted(
                    f"{path} is not a file this store writes (records/<kind>.json or "
                    f"records/<kind>.<n>.json): move it out of the data folder"
                )
            found[key] = path
        return found

    def _load_partitions(
        self, manifest: Mapping[str, Any], files: dict[tuple[str, int], Path], *, repair: bool
    ) -> None:
        """Every partition the manifest lists must be there, whole and at least as new."""
        try:
            lsn = int(manifest["lsn"])
            listed = {
                (str(kind), int(row[0])): (int(row[1]), int(row[2]), int(row[3]), int(row[4]))
                for kind, rows in manifest["shards"].items()
                for row in rows
            }
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            raise StoreCorrupted(f"{self._system_path} has a damaged manifest. {RESTORE}") from None
        self._lsn = self._checkpoint_lsn = lsn
        for (kind, number), (file_lsn, count, size, checksum) in sorted(listed.items()):
            path = files.pop((kind, number), None)
            if path is None:
                raise StoreCorrupted(
                    f"{self._folder / 'records' / shard_file(kind, number)} is missing: "
                    f"system.json lists it with {count} {kind} records. {RESTORE}"
                )
            data = path.read_bytes()
            shard = _Shard(kind, number, listed=True, size=len(data), nbytes=len(data))
            header = None
            if len(data) == size and crc(data) == checksum:
                header = read_header(path, data)
            if header is not None and (header.kind, header.number, header.lsn) == (
                kind,
                number,
                file_lsn,
            ):
                shard.versions = header.versions
                shard.file_lsn = file_lsn
                shard.crc = checksum
                shard.count = len(header.versions)
            else:
                parsed = parse_shard(path, data)
                found_lsn = parsed.header.lsn if parsed.header else 0
                if found_lsn < file_lsn:
                    raise StoreCorrupted(
                        f"{path} is older than the rest of the data folder (it reflects change "
                        f"{found_lsn}, system.json says {file_lsn}): a file from another "
                        f"moment was put back. {RESTORE}"
                    )
                if found_lsn == file_lsn and len(parsed.versions) != count:
                    raise StoreCorrupted(
                        f"{path} holds {len(parsed.versions)} records where system.json "
                        f"says {count}: it was cut or replaced. {RESTORE}"
                    )
                if found_lsn == file_lsn:
                    log.warning("%s changed since the bot wrote it; reading it as it is", path)
                    self._must_checkpoint = True
                self._install(shard, parsed)
                shard.file_lsn = found_lsn
                shard.crc = crc(data)
                shard.count = len(parsed.versions)
            self._kinds.setdefault(kind, []).append(shard)
        for _key, path in sorted(files.items()):
            parsed = parse_shard(path, path.read_bytes())
            if parsed.header is not None and parsed.header.lsn > lsn:
                # Written by a checkpoint that did not finish: rebuilt from the journal.
                if repair:
                    self._repairs.append(path.unlink)
                continue
            raise StoreCorrupted(
                f"{path} is not part of this data folder (system.json does not list it). {RESTORE}"
            )
        for shards in self._kinds.values():
            shards.sort(key=lambda s: s.number)

    def _load_first_time(
        self,
        files: dict[tuple[str, int], Path],
        no_system: bool,
        changes: list[dict[str, Any]],
        *,
        repair: bool,
    ) -> None:
        """A new folder, or one written before partitions (one file per kind): read it all,
        split big kinds into partitions (written by the checkpoint that ends opening)."""
        parsed = {key: parse_shard(path, path.read_bytes()) for key, path in files.items()}
        headed = [p.header for p in parsed.values() if p.header is not None]
        new_journal = any(not change.get("legacy") for change in changes)
        audit_size = self._audit_path.stat().st_size if self._audit_path.exists() else 0
        if any(h.lsn > 0 for h in headed) or new_journal or (no_system and audit_size):
            raise StoreCorrupted(
                f"{self._system_path} is missing or has lost its manifest, while the other "
                f"files hold records. {RESTORE}"
            )
        for (kind, number), found in sorted(parsed.items()):
            base = parsed.get((kind, 1))
            if number > 1 and found.header is None:
                raise StoreCorrupted(f"{files[(kind, number)]} has no index. {RESTORE}")
            if number > 1 and base is not None and base.header is None:
                # Left by a split of ``base`` that did not finish: ``base`` still has them all.
                if repair:
                    self._repairs.append(files[(kind, number)].unlink)
                continue
            shard = _Shard(kind, number, listed=False, dirty=found.header is None)
            self._install(shard, found)
            self._kinds.setdefault(kind, []).append(shard)
        for kind, shards in self._kinds.items():
            shards.sort(key=lambda s: s.number)
            if repair and len(shards) == 1 and shards[0].dirty:
                self._split(kind, shards[0])
        self._must_checkpoint = True

    def _split(self, kind: str, base: _Shard) -> None:
        """Move the records of an oversized kind file into new partitions (in memory; the
        checkpoint writes the new partitions before the smaller first one)."""
        assert base.docs is not None
        chunks: list[list[str]] = [[]]
        size = 0
        for item_id, raw in base.docs.items():
            full = len(chunks[-1]) >= SHARD_MAX_RECORDS or size + len(raw) > SHARD_MAX_BYTES
            if full and chunks[-1]:
                chunks.append([])
                size = 0
            chunks[-1].append(item_id)
            size += len(raw)
        if len(chunks) == 1:
            return
        log.info("splitting records/%s.json into %d partitions", kind, len(chunks))
        shards = self._kinds[kind]
        for number, ids in enumerate(chunks[1:], start=2):
            shard = _Shard(kind, number, docs={}, dirty=True)
            for item_id in ids:
                raw = base.docs.pop(item_id)
                shard.docs[item_id] = raw  # type: ignore[index]
                shard.versions[item_id] = base.versions.pop(item_id)
                shard.nbytes += len(raw)
            shards.append(shard)
        base.nbytes = sum(len(raw) for raw in base.docs.values())

    def _install(self, shard: _Shard, parsed: ParsedShard) -> None:
        shard.docs = parsed.docs
        shard.versions = parsed.versions
        shard.nbytes = sum(len(raw) for raw in parsed.docs.values())
        if parsed.header is not None:
            shard.file_lsn = parsed.header.lsn

    def _check_keys(self) -> None:
        """Open one record of each kind now, so a missing or wrong key stops start-up."""
        for kind, shards in self._kinds.items():
            for shard in reversed(shards):
                if shard.versions:
                    self._ensure_loaded(shard)
                    assert shard.docs is not None
                    self._record(kind, next(iter(shard.docs.values())))
                    break

    def _find_shard(self, kind: str, number: int) -> _Shard | None:
        for shard in self._kinds.get(kind, ()):
            if shard.number == number:
                return shard
        return None

    def _locate(self, kind: str, item_id: str) -> _Shard | None:
        for shard in reversed(self._kinds.get(kind, ())):
            if item_id in shard.versions:
                return shard
        return None

    def _place(
        self, kind: str, added: dict[int, tuple[int, int]], fresh: dict[str, _Shard]
    ) -> _Shard:
        """The partition a new record of ``kind`` goes into: the newest, unless it is full.

        ``added`` counts what this change already puts in each partition (records, bytes, by
        ``id``), ``fresh`` the partitions this change starts (not in memory until it is done).
        """
        shards = self._kinds.get(kind, [])
        last = fresh.get(kind) or (shards[-1] if shards else None)
        if last is not None:
            records, size = added.get(id(last), (0, 0))
            if (
                len(last.versions) + records < SHARD_MAX_RECORDS
                and last.nbytes + size < SHARD_MAX_BYTES
            ):
                return last
            number = last.number + 1
        else:
            number = 1
        fresh[kind] = _Shard(kind, number, docs={})
        return fresh[kind]

    @contextlib.contextmanager
    def _pinned(self, shard: _Shard) -> Iterator[None]:
        """A partition read into memory and kept there (not trimmed from the cache) meanwhile."""
        with self._state:
            shard.pins += 1
        try:
            self._ensure_loaded(shard)
            yield
        finally:
            with self._state:
                shard.pins -= 1

    def _ensure_loaded(self, shard: _Shard) -> None:
        """Read a partition's records from its file if they are not in memory."""
        with self._state:
            self._tick += 1
            shard.used = self._tick
            if shard.docs is not None:
                return
            path = self._shard_path(shard)
            expected = shard.file_lsn
        parsed = parse_shard(path, path.read_bytes())
        found = parsed.header.lsn if parsed.header else 0
        with self._state:
            if shard.docs is None:
                if found != expected or parsed.versions != shard.versions:
                    if self._read_only and found > expected:
                        raise _Overtaken(str(path))  # the bot is checkpointing: read again
                    raise StoreCorrupted(f"{path} changed while the bot was using it. {RESTORE}")
                shard.docs = parsed.docs
                shard.nbytes = sum(len(raw) for raw in parsed.docs.values())
                self._trim_cache()

    def _trim_cache(self) -> None:
        """Forget the records of the least recently used unchanged partitions over budget."""
        if self._read_only:
            return
        loaded = [
            s
            for shards in self._kinds.values()
            for s in shards
            if s.docs is not None and not s.dirty and not s.pins and s.listed
        ]
        total = sum(s.nbytes for s in loaded)
        if total <= CACHE_BYTES:
            return
        for shard in sorted(loaded, key=lambda s: s.used):
            if total <= CACHE_BYTES:
                break
            total -= shard.nbytes
            shard.docs = None

    def _put(self, shard: _Shard, item_id: str, version: int, raw: bytes, lsn: int) -> None:
        assert shard.docs is not None
        old = shard.docs.get(item_id)
        shard.docs[item_id] = raw
        shard.versions[item_id] = version
        shard.nbytes += len(raw) - (len(old) if old is not None else 0)
        shard.dirty = True
        shard.changed_lsn = max(shard.changed_lsn, lsn)
        self._touch(shard.kind, item_id)

    def _delete(self, shard: _Shard, item_id: str, lsn: int) -> None:
        assert shard.docs is not None
        old = shard.docs.pop(item_id, None)
        shard.versions.pop(item_id, None)
        shard.nbytes -= len(old) if old is not None else 0
        shard.dirty = True
        shard.changed_lsn = max(shard.changed_lsn, lsn)
        self._touch(shard.kind, item_id)

    def _touch(self, kind: str, item_id: str) -> None:
        """A record changed: the field indexes of its kind read it again before a search."""
        for index in self._indexes.get(kind, {}).values():
            index.touched.add(item_id)

    def _apply(self, plan: _Plan) -> None:
        """Make a journalled change true in memory (the caller holds the state lock)."""
        for shard, item_id, version, raw in plan.puts:
            shards = self._kinds.setdefault(shard.kind, [])
            if shard not in shards:  # a partition this change started
                shards.append(shard)
            self._put(shard, item_id, version, raw, plan.lsn)
        for shard, item_id in plan.deletes:
            self._delete(shard, item_id, plan.lsn)
        if plan.dedupe:
            self._dedupe[str(plan.dedupe["key"])] = (
                [str(r) for r in plan.dedupe["refs"]],
                str(plan.dedupe["at"]),
            )
        for name, value in plan.sequences.items():
            self._sequences[name] = max(self._sequences.get(name, 0), value)
        for entry, line in zip(plan.entries, plan.lines, strict=True):
            self._audit_pending.append((entry.seq, line))
            self._audit_seq, self._audit_hash = entry.seq, entry.hash
        self._lsn = plan.lsn

    def _seal(self, kind: str, item_id: str, data: Mapping[str, Any]) -> Any:
        if self._cipher is None:
            return data
        return self._cipher.seal(kind, item_id, data)

    def _record(self, kind: str, raw: bytes) -> Record:
        # Always parsed afresh: callers can never change the store's records in memory.
        doc = json.loads(raw)
        stored = doc["data"]
        if self._cipher is not None:
            data = self._cipher.open(kind, doc["id"], stored)
        elif isinstance(stored, dict) and MARK in stored:
            raise KeyDoesNotOpen(
                f"record {kind}:{doc['id']} is encrypted and no key is configured "
                "(set BOT_ENCRYPTION_KEY)"
            )
        else:
            data = stored
        return Record(
            kind=kind,
            id=doc["id"],
            version=doc["version"],
            data=data,
            schema=doc.get("schema", RECORD_SCHEMA),
        )
