"""Text that can be stored and shown: no lone surrogates, no NUL (issue 22, item 2).

JSON may carry ``"\\ud800"``: Python decodes it into a string that cannot be written as UTF-8
(``UnicodeEncodeError`` in the store, so a report told "received" would be lost), and
PostgreSQL refuses NUL in text. Both become U+FFFD (the replacement character) so what the
person wrote is kept, with the unstorable character visibly replaced. Surrogate *pairs* are
already joined by the JSON decoder into one character, so any surrogate left is a lone one.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate and NUL replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def clean_value(value: Any) -> Any:
    """``value`` (JSON data: dicts, lists, strings, numbers…) with every string, keys included,
    cleaned by ``clean_text``. Values with nothing to clean are returned as they are."""
    if isinstance(value, str):
        return clean_text(value) if _UNSTORABLE.search(value) else value
    if isinstance(value, Mapping):
        return {
            (clean_text(k) if isinstance(k, str) else k): clean_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean_value(v) for v in value]
    return value


def spreadsheet_cell(text: str) -> str:
    """``text`` safe as a CSV cell: one starting with = + - @ is run as a formula by
    spreadsheet programs, so it gets a leading apostrophe (shown as text, the words kept)."""
    return "'" + text if text[:1] in {"=", "+", "-", "@"} else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A CSV file's text: the ``header`` line, then one line per row, every cell made safe for
    a spreadsheet (``spreadsheet_cell``). The one way the bot writes a CSV download."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return out.getvalue()
