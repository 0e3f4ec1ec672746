"""The embedded store cleans what it writes (issue 22, item 2) and, when a change has nothing
to clean, stores the very bytes ``clean_change`` then ``encode_doc`` would (issue 25: found by
the JSON encoder, not by a walk over the data)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from dialogs.ports import Change, Record
from policy.text import REPLACEMENT
from store.text import clean_change
from store.tinydb_layout import encode_doc
from store.tinydb_store import TinyDbStore, _clean_docs

#: (data, whether the encoder finds it clean): the second and last take the usual path
#: although nothing is cleaned (a false alarm; a mapping only the usual path copies as a dict).
SHAPES: list[tuple[Any, bool]] = [
    ({"text": "plain", "n": 1, "x": 2.5, "ok": True, "none": None, "l": [1, {"b": []}]}, True),
    ({"text": "a literal backslash then u0000: \\u0000 stays"}, False),
    ({"text": "émoji 😀 and \u2028 and \x01"}, True),
    ({1: "an int key", "t": (1, 2)}, True),
    ({"text": "nul \x00 here"}, False),
    ({"text": "lone \ud800 surrogate"}, False),
    ({"nested": {"deep": ["\udfff"]}}, False),
    ({"proxy": MappingProxyType({"a": 1})}, False),
]


def _record(n: int, data: Any) -> Record:
    return Record("concern", f"c{n}", 1, data)


@pytest.mark.parametrize(("data", "clean"), SHAPES)
def test_the_bytes_stored_are_those_of_the_cleaned_change(data: Any, clean: bool) -> None:
    change = Change(records=[_record(1, data)])
    cleaned = clean_change(change).records[0]
    usual = encode_doc(cleaned.id, cleaned.version, cleaned.schema, cleaned.data)
    docs = _clean_docs(change)
    assert (docs is not None) == clean
    if docs is not None:  # nothing to clean: the same bytes, encoded once
        assert docs == [usual]


async def test_what_is_read_back_is_cleaned_or_as_written(tmp_path: Path) -> None:
    store = await TinyDbStore.open(tmp_path)
    try:
        await store.commit(Change(records=[_record(n, d) for n, (d, _) in enumerate(SHAPES)]))
        texts = {r.id: r.data for r in await store.find("concern")}
    finally:
        await store.close()
    assert texts["c1"]["text"] == "a literal backslash then u0000: \\u0000 stays"
    assert texts["c3"] == {"1": "an int key", "t": [1, 2]}
    assert texts["c4"]["text"] == f"nul {REPLACEMENT} here"
    assert texts["c5"]["text"] == f"lone {REPLACEMENT} surrogate"
    assert texts["c6"] == {"nested": {"deep": [REPLACEMENT]}}
    assert texts["c7"] == {"proxy": {"a": 1}}
