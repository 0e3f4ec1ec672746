"""The embedded store's files, byte for byte: record partitions, the journal, ``system.json``.

The record files and ``system.json`` are TinyDB documents (``{table: {doc_id: document}}``);
every file is compact JSON written whole (``store.files.atomic_write_json``), so TinyDB,
``ops.backup`` and ``ops.move_to_postgres`` read them as before:

``records/<kind>.json``, ``records/<kind>.<n>.json``
    A partition of one kind of record: table ``_default`` holds the records (``id``,
    ``version``, ``schema``, ``data``); table ``_index`` (written first, so that opening parses
    it alone, not the records) holds ``kind``, ``n``, ``lsn`` (the last
    change the file reflects) and ``ids`` (``[id, version]`` in document order). New records
    go into the kind's newest partition until it holds ``SHARD_MAX_RECORDS`` records or
    ``SHARD_MAX_BYTES`` bytes; then a new one is started. A record stays in its partition.
``journal.json``
    Every change committed since the last checkpoint, each with its ``lsn`` (log sequence
    number). Format 3 (``JOURNAL_MAGIC``, then entries appended one per commit, see
    ``encode_entry``) is not JSON as a whole; format 2 (``{"journal": 2, "changes": [...]}``,
    replaced whole at each commit) is still read, and replaced by format 3 at the next write.
``system.json``
    Tables ``sequences`` and ``dedupe`` (as before) and ``store``: the manifest of the last
    checkpoint (its ``lsn``, every partition with its lsn, record count, size and CRC-32, and
    the audit log's length, last entry and SHA-256), which is how a missing, cut or older file
    is told apart from a new store.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialogs.ports import RECORD_SCHEMA, StoreCorrupted
from store.files import RESTORE, parse_json

#: A partition takes new records until it holds this many records or bytes.
SHARD_MAX_RECORDS = 1000
SHARD_MAX_BYTES = 256 * 1024

DOCS = "_default"
INDEX = "_index"
MANIFEST = "store"
FORMAT = 2
JOURNAL_FORMAT = 2
#: The first bytes of a format 3 (append-only) journal.
JOURNAL_MAGIC = b"OSB-JOURNAL 3\n"
_ENTRY_HEAD = re.compile(rb"([0-9a-f]{8}) ([0-9a-f]{8})\n")
_ENTRY_HEAD_SIZE = 18

_SHARD_NAME = re.compile(r"^([A-Za-z0-9_]+)(?:\.([2-9]|[1-9][0-9]+))?\.json$")
_HEAD = b'{"' + INDEX.encode() + b'":{"1":'
_DECODER = json.JSONDecoder()


def dumps(value: Any) -> bytes:
    """Compact JSON, as every store file is written."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def shard_file(kind: str, number: int) -> str:
    """The file name of partition ``number`` of ``kind`` (the first keeps the old name)."""
    return f"{kind}.json" if number == 1 else f"{kind}.{number}.json"


def parse_shard_file(name: str) -> tuple[str, int] | None:
    """``(kind, number)`` of a partition's file name, or None if it is not one."""
    found = _SHARD_NAME.match(name)
    if found is None:
        return None
    return found.group(1), int(found.group(2) or 1)


def encode_doc(item_id: str, version: int, schema: int, data: Any) -> bytes:
    """A record as stored in a partition (and in the journal)."""
    return dumps({"id": item_id, "version": version, "schema": schema, "data": data})


def build_shard(
    kind: str, number: int, lsn: int, docs: Mapping[str, bytes], versions: Mapping[str, int]
) -> bytes:
    """The bytes of a partition file holding ``docs`` (id -> encoded record)."""
    ids = [[item_id, versions[item_id]] for item_id in docs]
    header = json.dumps(
        {"kind": kind, "n": number, "lsn": lsn, "ids": ids}, separators=(",", ":")
    ).encode("ascii")
    body = b",".join(b'"%d":%s' % (n, raw) for n, raw in enumerate(docs.values(), start=1))
    return _HEAD + header + b'},"' + DOCS.encode() + b'":{' + body + b"}}"


def crc(data: bytes) -> int:
    """The checksum the manifest keeps for each partition file."""
    return zlib.crc32(data)


@dataclass(frozen=True, slots=True)
class ShardHeader:
    """What a partition's ``_index`` says: the last change it reflects and its records."""

    kind: str
    number: int
    lsn: int
    versions: dict[str, int]


def read_header(path: Path, data: bytes) -> ShardHeader | None:
    """The ``_index`` at the start of a partition file (None when it has none: an older file).

    Only the header is parsed. Raises ``StoreCorrupted`` if it is there but damaged.
    """
    if not data.startswith(_HEAD):
        return None
    try:
        text = data.decode("utf-8")
        raw, _end = _DECODER.raw_decode(text, len(_HEAD))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StoreCorrupted(f"{path} is damaged ({exc.__class__.__name__}). {RESTORE}") from None
    return _header(path, raw)


def _header(path: Path, raw: Any) -> ShardHeader:
    try:
        versions = {str(i): int(v) for i, v in raw["ids"]}
        header = ShardHeader(str(raw["kind"]), int(raw["n"]), int(raw["lsn"]), versions)
    except (KeyError, TypeError, ValueError):
        raise StoreCorrupted(f"{path} has a damaged index. {RESTORE}") from None
    if len(versions) != len(raw["ids"]):
        raise StoreCorrupted(f"{path} lists a record twice. {RESTORE}")
    return header


@dataclass(slots=True)
class ParsedShard:
    """A partition file read whole: its records (id -> encoded record) and its index."""

    docs: dict[str, bytes]
    versions: dict[str, int]
    header: ShardHeader | None


def parse_shard(path: Path, data: bytes) -> ParsedShard:
    """Read and check a whole partition file (or a kind's file written before partitions).

    Raises:
        StoreCorrupted: not JSON, not a TinyDB document, a record without id or version, a
            record from newer code, or an index that does not match the records.
    """
    raw = parse_json(path, data)
    if not isinstance(raw, dict) or not isinstance(raw.get(DOCS, {}), dict):
        raise StoreCorrupted(f"{path} does not hold a TinyDB document. {RESTORE}")
    docs: dict[str, bytes] = {}
    versions: dict[str, int] = {}
    for doc in raw.get(DOCS, {}).values():
        if (
            not isinstance(doc, dict)
            or not isinstance(doc.get("id"), str)
            or not isinstance(doc.get("version"), int)
        ):
            raise StoreCorrupted(f"{path} holds a record without id/version. {RESTORE}")
        schema = doc.get("schema", RECORD_SCHEMA)
        if not isinstance(schema, int) or schema > RECORD_SCHEMA:
            raise StoreCorrupted(
                f"{path} was written by a newer version of the bot "
                f"(record schema {schema}, this code knows {RECORD_SCHEMA})"
            )
        item_id = doc["id"]
        if item_id in docs:
            raise StoreCorrupted(f"{path} holds record {item_id} twice. {RESTORE}")
        docs[item_id] = encode_doc(item_id, doc["version"], schema, doc.get("data"))
        versions[item_id] = doc["version"]
    index = raw.get(INDEX)
    header = None
    if index is not None:
        header = _header(path, index.get("1") if isinstance(index, dict) else None)
        if header.versions != versions:
            raise StoreCorrupted(f"{path}: its index does not match its records. {RESTORE}")
    return ParsedShard(docs, versions, header)


# ----- the journal -----------------------------------------------------------------------------


def encode_change(
    lsn: int,
    *,
    puts: Iterable[tuple[str, int, bytes]] = (),
    deletes: Iterable[tuple[str, int, str]] = (),
    audit: Iterable[bytes] = (),
    sequences: Mapping[str, int] | None = None,
    dedupe: Mapping[str, Any] | None = None,
) -> bytes:
    """One change as the journal holds it. ``puts`` are ``(kind, partition, encoded record)``,
    ``audit`` the sealed entries as their audit-log lines."""
    parts = [b'{"lsn":%d' % lsn]
    put_list = list(puts)
    if put_list:
        items = b",".join(b'["%s",%d,%s]' % (k.encode(), n, raw) for k, n, raw in put_list)
        parts.append(b',"put":[' + items + b"]")
    delete_list = [list(d) for d in deletes]
    if delete_list:
        parts.append(b',"del":' + dumps(delete_list))
    lines = [line.rstrip(b"\n") for line in audit]
    if lines:
        parts.append(b',"audit":[' + b",".join(lines) + b"]")
    if sequences:
        parts.append(b',"seq":' + dumps(dict(sequences)))
    if dedupe:
        parts.append(b',"dedupe":' + dumps(dict(dedupe)))
    parts.append(b"}")
    return b"".join(parts)


def encode_entry(changes: Iterable[bytes]) -> bytes:
    """One entry of a format 3 journal: the changes of one write (all or none of them count).

    ``<length of the payload, 8 hex digits> <CRC-32 of those digits and the payload, 8 hex>``,
    newline, the payload (a JSON list of changes), newline.
    """
    payload = b"[" + b",".join(changes) + b"]"
    size = b"%08x" % len(payload)
    return b"%s %08x\n%s\n" % (size, zlib.crc32(payload, zlib.crc32(size)), payload)


def build_journal(changes: Iterable[bytes]) -> bytes:
    """A whole (format 3) journal file holding ``changes``."""
    return JOURNAL_MAGIC + encode_entry(changes)


def parse_journal(path: Path, data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The changes of a journal file (either format) and the length of its valid part.

    In a format 3 journal, an entry cut short or failing its checksum at the END of the file is
    a write whose sync never returned (never acknowledged): it and what follows are not part of
    the journal (the valid length says where to cut). The same anywhere before the end, or an
    entry whose checksum holds but whose content does not make sense, is damage.

    Raises:
        StoreCorrupted: a damaged journal, or one from another version of the bot.
    """
    if not data.startswith(JOURNAL_MAGIC):
        return journal_changes(path, parse_json(path, data)), len(data)
    changes: list[dict[str, Any]] = []
    pos = len(JOURNAL_MAGIC)
    while pos < len(data):
        head = data[pos : pos + _ENTRY_HEAD_SIZE]
        found = _ENTRY_HEAD.fullmatch(head)
        if found is None:
            if len(head) < _ENTRY_HEAD_SIZE or not data[pos:].strip(b"\0"):
                break  # a header cut short, or space the crash left zeroed: never synced
            raise StoreCorrupted(f"{path} is damaged (entry at byte {pos}). {RESTORE}")
        end = pos + _ENTRY_HEAD_SIZE + int(found.group(1), 16) + 1
        if end > len(data):
            break  # cut short: never synced
        payload = data[pos + _ENTRY_HEAD_SIZE : end - 1]
        if data[end - 1 : end] != b"\n" or zlib.crc32(payload, zlib.crc32(found.group(1))) != int(
            found.group(2), 16
        ):
            if end == len(data):
                break  # the last write, not whole: never synced
            raise StoreCorrupted(f"{path} is damaged (entry at byte {pos}). {RESTORE}")
        try:
            batch = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError):
            batch = None
        if not isinstance(batch, list):
            raise StoreCorrupted(f"{path} holds a damaged change. {RESTORE}")
        changes.extend(batch)
        pos = end
    return journal_changes(path, {"journal": JOURNAL_FORMAT, "changes": changes}), pos


def journal_changes(path: Path, raw: Any) -> list[dict[str, Any]]:
    """The changes of a parsed journal file, oldest first, their lsns checked.

    A journal from before partitions (one change, no lsn) is returned as one change with
    ``"legacy": True``.

    Raises:
        StoreCorrupted: not a journal, or its changes are out of order.
    """
    if not isinstance(raw, dict):
        raise StoreCorrupted(f"{path} is not a journal. {RESTORE}")
    if "journal" not in raw:
        if not set(raw) <= {"records", "deletes", "audit", "dedupe"}:
            raise StoreCorrupted(f"{path} is not a journal. {RESTORE}")
        return [{**raw, "legacy": True}]
    changes = raw.get("changes")
    if raw["journal"] != JOURNAL_FORMAT or not isinstance(changes, list):
        raise StoreCorrupted(f"{path} was written by another version of the bot. {RESTORE}")
    previous = 0
    for change in changes:
        if not isinstance(change, dict) or not isinstance(change.get("lsn"), int):
            raise StoreCorrupted(f"{path} holds a damaged change. {RESTORE}")
        if change["lsn"] <= previous:
            raise StoreCorrupted(f"{path} holds its changes out of order. {RESTORE}")
        previous = change["lsn"]
    return changes


# ----- system.json -----------------------------------------------------------------------------


def build_system(
    sequences: Mapping[str, int], dedupe: Iterable[bytes], manifest: Mapping[str, Any]
) -> bytes:
    """``system.json``: the sequences, the dedupe keys (each already encoded) and the manifest."""
    seq = b",".join(
        b'"%d":%s' % (n, dumps({"name": name, "value": value}))
        for n, (name, value) in enumerate(sorted(sequences.items()), start=1)
    )
    keys = b",".join(b'"%d":%s' % (n, raw) for n, raw in enumerate(dedupe, start=1))
    return (
        b'{"sequences":{'
        + seq
        + b'},"dedupe":{'
        + keys
        + b'},"'
        + MANIFEST.encode()
        + b'":{"1":'
        + dumps(dict(manifest))
        + b"}}"
    )


def table(path: Path, system: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    """The documents of one table of ``system.json``.

    Raises:
        StoreCorrupted: the table is not a TinyDB table.
    """
    found = system.get(name) or {}
    if not isinstance(found, dict) or not all(isinstance(d, dict) for d in found.values()):
        raise StoreCorrupted(f"{path} has a damaged {name} table. {RESTORE}")
    return list(found.values())
