"""The request body, checked before it is parsed (issue 22, item 3).

``json.loads`` recurses once per level of nesting: a body nested some thousands deep raises
``RecursionError`` (a 500) instead of a clean refusal, and msrest's deserialiser recurses
again. The nesting depth is measured first, with strings left out, and anything deeper than
``MAX_DEPTH`` is refused. Teams sends UTF-8 only: any other charset is refused before decoding
(an unknown one would raise ``LookupError``).
"""

from __future__ import annotations

import json
import re
from typing import Any

#: Deepest nesting accepted. Teams activities (with Adaptive Card data) nest about 8 levels.
MAX_DEPTH = 64

_UTF8 = frozenset({"utf-8", "utf8"})
#: JSON strings (with escapes), then any bracket: strings are skipped, brackets counted.
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)
#: The only JSON that decodes to a NUL or a lone surrogate: a ``\u0000`` or ``\uD800``-
#: ``\uDFFF`` escape (UTF-8 cannot carry a surrogate, and JSON refuses a raw NUL).
_UNSTORABLE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


class BadBody(Exception):
    """The body cannot be an activity: answer ``status`` with ``reason``."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def charset_is_utf8(charset: str | None) -> bool:
    """Whether a Content-Type charset parameter (None when absent) means UTF-8."""
    return charset is None or charset.strip().strip('"').lower() in _UTF8


def depth_of(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in ``raw`` (brackets in strings not counted).

    Stops counting as soon as ``MAX_DEPTH`` is passed.
    """
    depth = deepest = 0
    for match in _TOKENS.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def may_hold_unstorable(raw: bytes) -> bool:
    """Whether the JSON in ``raw`` may decode to a string ``policy.text.clean_value`` would
    change (False: it cannot, and cleaning it would only copy it)."""
    return _UNSTORABLE_ESCAPE.search(raw) is not None


def parse(raw: bytes, charset: str | None) -> Any:
    """The JSON in ``raw``.

    Raises:
        BadBody: another charset (415), bytes that are not UTF-8, nesting deeper than
            ``MAX_DEPTH``, or not JSON (400).
    """
    if not charset_is_utf8(charset):
        raise BadBody("expected charset=utf-8", 415)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("body is not UTF-8") from None
    # Nesting cannot pass MAX_DEPTH with fewer opening brackets than that (strings included).
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH and depth_of(raw) > MAX_DEPTH:
        raise BadBody("body is nested too deeply")
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise BadBody("body is not JSON") from None
