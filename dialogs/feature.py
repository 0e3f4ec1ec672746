"""What a feature is: the ports it is built over (``Deps``) and what it registers (``Feature``).

The composition root (``bot/features.py``) calls each feature's ``feature(deps: Deps) ->
Feature`` once and hands the list to ``Router``; feature modules never import each other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dialogs.outbox import Doorbell, Renderer, TimerHandler
from dialogs.ports import Calendar, Clock, Directory, Exports, Notifier, Store
from policy.actions import Verb
from policy.school import SchoolPolicy

if TYPE_CHECKING:
    from dialogs.turns import ActionContext, Reply

Handler = Callable[["ActionContext"], Awaitable["Reply"]]
#: Typed text (issue 18): ``(ctx, text, verb, matched)`` -> replies, or None to let the command
#: (``verb``, the one the person may run, if any) or the menu answer. ``matched`` is True when
#: the words named a command at all (even one the person may not use).
TypedHandler = Callable[
    ["ActionContext", str, "Verb | None", bool], Awaitable["list[Reply] | None"]
]


@dataclass(frozen=True, slots=True)
class Deps:
    """The ports and settings a feature's handlers may use."""

    school: SchoolPolicy
    store: Store
    directory: Directory
    clock: Clock
    #: Ring after committing outbox messages so they are delivered at once.
    doorbell: Doorbell = field(default_factory=Doorbell)
    #: Teachers' upcoming online meetings (Graph, or the demo data in local mode).
    calendar: Calendar | None = None
    #: Activity-feed notifications for urgent items (Graph; logged in local mode).
    notifier: Notifier | None = None
    #: Short-lived download links for exports (CSV).
    exports: Exports | None = None


@dataclass(frozen=True, slots=True)
class Feature:
    """What one feature adds: verb handlers, and typed phrases that run a verb.

    ``phrases`` are regular expressions matched (``re.search``) against the lower-cased message
    text, in order; the first match runs its verb, with the same authorisation as a click.
    """

    routes: Mapping[Verb, Handler] = field(default_factory=dict)
    phrases: Sequence[tuple[str, Verb]] = ()
    #: How to render each kind of outbox message (``render`` name -> renderer).
    renderers: Mapping[str, Renderer] = field(default_factory=dict)
    #: What each kind of timer does when it is due (timer name -> handler).
    timers: Mapping[str, TimerHandler] = field(default_factory=dict)
    #: What to do with anything typed, before a command runs (the first feature with one).
    typed: TypedHandler | None = None
