"""Shared helpers for feature modules: stored records <-> domain objects, and card input text."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import TypeAdapter

from dialogs.ports import Record

T = TypeVar("T")


class RecordCodec(Generic[T]):
    """Turns a frozen domain dataclass into a record's JSON data and back (validated)."""

    def __init__(self, kind: str, model: type[T]) -> None:
        self.kind = kind
        self._adapter: TypeAdapter[T] = TypeAdapter(model)

    def encode(self, value: T) -> dict[str, Any]:
        """The stored (JSON-safe) form of ``value``."""
        data: dict[str, Any] = self._adapter.dump_python(value, mode="json")
        return data

    def decode(self, record: Record) -> T:
        """The domain object held by ``record``."""
        return self._adapter.validate_python(dict(record.data))

    def subject(self, item_id: str) -> str:
        """``kind:id``: how audit entries and outbox messages name an item."""
        return f"{self.kind}:{item_id}"


def text_field(data: Mapping[str, Any], key: str) -> str:
    """A card input's text, trimmed ("" when it is missing or not text)."""
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""
