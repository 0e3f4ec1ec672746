"""A TinyDB storage for the benchmark's prefill: it writes a data folder in the layout the store
reads (each file replaced atomically, mode 0600), as a store from before partitions left it.
The store itself never writes through TinyDB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from dialogs.ports import StoreCorrupted
from store.files import atomic_write_json, read_json


class AtomicJSONStorage(Storage):
    """A TinyDB storage that reads a file once and replaces it atomically on every write.

    The parsed file is kept in memory (this process is the only writer). If a write fails,
    the in-memory copy is dropped, so the next read comes from the intact file on disk. (The
    store writes its own files; this is for the benchmark, which writes a folder for it.)
    """

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._cache: dict[str, dict[str, Any]] | None = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._cache is None:
            data = read_json(self._path, None)
            if data is not None and not isinstance(data, dict):
                raise StoreCorrupted(f"{self._path} does not hold a TinyDB document")
            self._cache = data
        return self._cache

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        try:
            atomic_write_json(self._path, data)
        except BaseException:
            self._cache = None
            raise
        self._cache = data

    def close(self) -> None:
        self._cache = None
