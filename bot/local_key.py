"""Local mode's key: records at rest are sealed in local mode too, with a key it makes itself.

Production is given its key (``BOT_ENCRYPTION_KEY``, required there). Local mode with the
embedded store and no key configured keeps one in a file **beside** the data folder, never in
it (``data.key`` for ``data/``), so a copy of the data folder (``script/backup``) does not carry
the key unless asked (``--with-key``). On every start, before the bot serves anything:

- no key file and no sealed record: make a key (a new file, mode 0600, never overwriting one),
  seal every record already there with it (a folder from before local mode encrypted), and say
  where the key is;
- no key file but sealed records: refuse (the key was lost or not restored with the data);
- a key file: open a record of each kind with it, and refuse if it does not open them; any
  plain record found is sealed.

Crash-safe: the key is written as ``data.key.new`` first and only renamed to ``data.key`` once
every record is sealed with it; a start that finds ``data.key.new`` finishes the job with it.
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

from pydantic import SecretStr

from bot.config import Settings
from bot.storage import cipher_for
from dialogs.ports import StoreCorrupted
from store.crypto import KeyDoesNotOpen, KeyError_, RecordCipher, new_key, parse_key
from store.tinydb_store import TinyDbStore

log = logging.getLogger("bot.local_key")

KEY_MODE = 0o600


class LocalKeyError(StoreCorrupted):
    """The local key and the data folder do not belong together; the message says what to do."""


def _partial(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".new")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_new(path: Path, text: str) -> None:
    """Create ``path`` holding ``text``, mode 0600; never replaces a file (``O_EXCL``)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_MODE)
    try:
        os.write(fd, (text + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def _read(path: Path) -> str:
    text = path.read_text(encoding="ascii").strip()
    try:
        parse_key(text)
    except KeyError_ as exc:
        raise LocalKeyError(f"{path}: {exc}") from None
    return text


async def _seal_all(data_dir: Path, cipher: RecordCipher) -> int:
    store = await TinyDbStore.open(data_dir, cipher=cipher)
    try:
        return await store.reseal()
    finally:
        await store.close()


async def prepare(settings: Settings) -> Settings:
    """``settings`` with local mode's key in place (made on the first start; see the module
    docstring). Other settings are returned as they are.

    Raises:
        LocalKeyError: the key is missing for sealed records, or does not open them.
        StoreError: the data folder cannot be opened.
    """
    key_file = settings.local_key_file
    if key_file is None:
        return settings
    data_dir = settings.data_dir
    if settings.encryption_keys:  # the key file exists (read with the settings)
        partial = _partial(key_file)
        if partial.exists() and partial.read_bytes() == key_file.read_bytes():
            partial.unlink()  # a first start stopped between putting the key in place and this
        cipher = cipher_for(settings)
        assert cipher is not None
        try:
            store = await TinyDbStore.open(data_dir, cipher=cipher)
            try:
                survey = await store.key_survey()
            finally:
                await store.close()
        except KeyDoesNotOpen:
            raise LocalKeyError(_wrong_key(key_file, data_dir)) from None
        if survey.sealed_by - cipher.ids:
            raise LocalKeyError(_wrong_key(key_file, data_dir))
        if survey.plain:
            sealed = await _seal_all(data_dir, cipher)
            log.warning("sealed %d plain records in %s with the local key", sealed, data_dir)
        return settings
    partial = _partial(key_file)
    if partial.exists():  # a first start was cut off while sealing: finish it with that key
        text = _read(partial)
    else:
        store = await TinyDbStore.open(data_dir, check_keys=False)
        try:
            survey = await store.key_survey(every=True)
        finally:
            await store.close()
        if survey.sealed_by:
            raise LocalKeyError(
                f"the records in {data_dir} are encrypted, and their key file {key_file} is "
                "missing. Put back the key file that belongs with this data folder (from where "
                "you keep it, or a backup made with --with-key); without it the records cannot "
                "be read. Nothing was changed"
            )
        text = new_key()
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        _write_new(partial, text)
    keyed = replace(settings, encryption_keys=(SecretStr(text),))
    cipher = cipher_for(keyed)
    assert cipher is not None
    sealed = await _seal_all(data_dir, cipher)
    os.link(partial, key_file)  # fails rather than replace a key file that appeared meanwhile
    partial.unlink()
    _fsync_dir(key_file.parent)
    where = (
        f"made the encryption key for local mode's records: {key_file} (mode 0600, beside the "
        f"data folder {data_dir}; {sealed} existing records sealed with it). Keep it with the "
        "data folder: without it the records cannot be read. script/backup leaves it out "
        "unless given --with-key"
    )
    log.warning(where)
    sys.stderr.write(where + "\n")
    return keyed


def _wrong_key(key_file: Path, data_dir: Path) -> str:
    return (
        f"the key in {key_file} does not open the records in {data_dir}: the key file and the "
        "data folder do not belong together. Put back the key file made with this data folder "
        "(or a backup made with --with-key), or point BOT_DATA_DIR at the data folder this key "
        "belongs to. Nothing was changed"
    )
