"""Which feature handlers the fast tier reaches (issue 23): a pytest plugin, off unless asked.

    .venv/bin/python -m pytest -p tests.dialogs.reach tests/dialogs -q -p no:cacheprovider

Wraps every verb handler, outbox renderer, timer and typed handler each ``feature(deps)``
registers (``bot.features.build_features``, as ``tests/dialogs/conftest.py`` builds the school),
notes each one a test calls, and which features' typed phrases some message matched; at the end
prints every one of them that no test reached. Loaded with ``-p`` it patches ``build_features``
before the conftest imports it; without ``-p`` it does nothing.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import pytest

import bot.features
from dialogs.feature import Deps, Feature
from dialogs.router import Router, Turn

_build = bot.features.build_features
#: label -> times called, for every handler any School built registered.
CALLS: dict[str, int] = {}
#: (feature, regex) -> times a typed message matched it.
PHRASES: dict[tuple[str, str], int] = {}


def _name(handler: Callable[..., Any]) -> str:
    function = getattr(handler, "__func__", handler)
    qualname = getattr(function, "__qualname__", f"{type(function).__qualname__}.__call__")
    return f"{function.__module__}.{qualname}"


def _owner(feature: Feature) -> str:
    handlers: list[Callable[..., Any]] = [
        *feature.routes.values(),
        *feature.renderers.values(),
        *feature.timers.values(),
    ]
    handlers += [feature.typed] if feature.typed else []
    modules = {_name(h).split(".")[1] for h in handlers}
    return "/".join(sorted(modules)) or "?"


def _wrap(label: str, handler: Callable[..., Any]) -> Callable[..., Any]:
    CALLS.setdefault(label, 0)

    @functools.wraps(handler)
    async def recorded(*args: Any, **kwargs: Any) -> Any:
        CALLS[label] += 1
        return await handler(*args, **kwargs)

    return recorded


def _wrap_all(kind: str, owner: str, table: Mapping[Any, Any]) -> dict[Any, Any]:
    return {key: _wrap(f"{owner:15} {kind:8} {key!s:34} {_name(h)}", h) for key, h in table.items()}


def _recording_build(deps: Deps) -> list[Feature]:
    features = []
    for feature in _build(deps):
        owner = _owner(feature)
        for pattern, _verb in feature.phrases:
            PHRASES.setdefault((owner, pattern), 0)
        features.append(
            replace(
                feature,
                routes=_wrap_all("route", owner, feature.routes),
                renderers=_wrap_all("renderer", owner, feature.renderers),
                timers=_wrap_all("timer", owner, feature.timers),
                typed=(
                    _wrap(f"{owner:15} {'typed':8} {'-':34} {_name(feature.typed)}", feature.typed)
                    if feature.typed
                    else None
                ),
            )
        )
    return features


bot.features.build_features = _recording_build
_on_message = Router.on_message


async def _recording_on_message(self: Router, turn: Turn, text: str, **kwargs: Any) -> Any:
    for owner, pattern in PHRASES:
        if re.search(pattern, text.lower()):
            PHRASES[(owner, pattern)] += 1
    return await _on_message(self, turn, text, **kwargs)


Router.on_message = _recording_on_message  # type: ignore[method-assign]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    write = terminalreporter.write_line
    unreached = sorted(label for label, calls in CALLS.items() if not calls)
    phrases = sorted(key for key, calls in PHRASES.items() if not calls)
    write(f"handlers registered: {len(CALLS)}, reached: {len(CALLS) - len(unreached)}")
    write(f"phrases registered: {len(PHRASES)}, matched: {len(PHRASES) - len(phrases)}")
    for label in unreached:
        write(f"UNREACHED {label}")
    for owner, pattern in phrases:
        write(f"UNMATCHED {owner:15} phrase   {pattern}")
