"""Shared helpers for feature modules: stored records <-> domain objects, and card input text."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from dialogs.ports import Record

T = TypeVar("T")


class RecordCodec(Generic[T]):
    """Turns a frozen domain dataclass into a record's JSON data and back (validated)."""

    def __init__(
        self,
        kind: str,
        model: type[T],
        *,
        owner: tuple[str, Callable[[T], str]] | None = None,
    ) -> None:
        """``owner``, for an item that belongs to one person: a top-level field of the stored
        data holding that person's id (to find a person's items by), and how to read it."""
        self.kind = kind
        self._model = model
        self._built: TypeAdapter[T] | None = None
        self._owner = owner

    @property
    def _adapter(self) -> TypeAdapter[T]:
        """The pydantic adapter, built on first use (~45 ms for all codecs at start-up when
        built at import). Two threads racing here each build an equal adapter; either is kept."""
        adapter = self._built
        if adapter is None:
            adapter = self._built = TypeAdapter(self._model)
        return adapter

    def encode(self, value: T) -> dict[str, Any]:
        """The stored (JSON-safe) form of ``value``."""
        data: dict[str, Any] = self._adapter.dump_python(value, mode="json")
        if self._owner is not None:
            field, owner_of = self._owner
            data[field] = owner_of(value)
        return data

    def decode(self, record: Record) -> T:
        """The domain object held by ``record``."""
        data = dict(record.data)
        if self._owner is not None:
            data.pop(self._owner[0], None)
        return self._adapter.validate_python(data)

    def subject(self, item_id: str) -> str:
        """``kind:id``: how audit entries and outbox messages name an item."""
        return f"{self.kind}:{item_id}"


def text_field(data: Mapping[str, Any], key: str) -> str:
    """A card input's text, trimmed ("" when it is missing or not text)."""
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def input_text(data: Mapping[str, Any], key: str) -> str:
    """A card input as Teams sends it, trimmed: text, or a number or a toggle written as text
    ("" when it is missing or anything else)."""
    value = data.get(key)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value).strip()
    return ""


def input_flag(data: Mapping[str, Any], key: str) -> bool:
    """An Input.Toggle: "true" when on."""
    return input_text(data, key).lower() == "true"
