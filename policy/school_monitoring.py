"""A school's monitoring settings (issue 21): the providers that send alerts, the sensitive-lesson
topics, grouping and urgency. Assembled in ``policy.school``; the rules are in
``policy.monitoring``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from policy.school_common import (
    _FORBID_EXTRA,
)


@dataclass(frozen=True, slots=True)
class MonitoringProvider:
    """A monitoring system allowed to send alerts (``POST /api/monitoring/alerts``).

    Its shared secret is never in this file: ``secret_env`` names the environment variable
    that holds it (read once at start-up by ``bot.config``).
    """

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    id: str
    name: str
    secret_env: str

    def __post_init__(self) -> None:
        if not self.id or not self.id.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"monitoring provider id {self.id!r}: letters, digits, - and _ only")
        if not self.secret_env or not self.secret_env.replace("_", "").isalnum():
            raise ValueError(
                f"monitoring provider {self.id!r}: secret_env must name an environment variable"
            )
        if not self.name.strip():
            raise ValueError(f"monitoring provider {self.id!r}: give it a name")


@dataclass(frozen=True, slots=True)
class LessonTopic:
    """A sensitive topic staff can warn monitoring about, and the alert categories it explains."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    id: str
    label: str
    #: Words that, found in a provider's alert category, make the alert match this topic.
    categories: tuple[str, ...] = ()


DEFAULT_LESSON_TOPICS: tuple[LessonTopic, ...] = (
    LessonTopic("extremism", "extremism", ("extremism", "radicalisation", "terrorism")),
    LessonTopic("drugs", "drugs and alcohol", ("drugs", "alcohol", "substance")),
    LessonTopic("self_harm", "self-harm and suicide", ("self-harm", "self_harm", "suicide")),
    LessonTopic("sex_education", "relationships and sex education", ("sexual", "adult")),
    LessonTopic("weapons", "weapons and violence", ("weapons", "violence")),
    LessonTopic("hate", "hate and discrimination", ("hate", "racism", "discrimination")),
)

#: Severities a monitoring alert can carry (``docs/monitoring.md``), lowest first.
MONITORING_SEVERITIES: tuple[str, ...] = ("low", "medium", "high", "critical")


@dataclass(frozen=True, slots=True)
class Monitoring:
    """Monitoring alerts and sensitive-lesson notices (DfE filtering and monitoring standards,
    followed by 004 and 000 §3.5): who may send alerts, which are urgent, how they group."""

    __pydantic_config__: ClassVar[dict[str, str]] = _FORBID_EXTRA

    providers: tuple[MonitoringProvider, ...] = ()
    #: Severities that go to the DSL and deputies at once (the urgent path). "critical" always
    #: does, whatever this list says.
    urgent_severities: tuple[str, ...] = ("high", "critical")
    #: Identical alerts (same pupil, category and provider) within this many minutes of the
    #: first are counted on one card.
    group_window_minutes: int = 30
    #: The topics staff can warn monitoring about before a lesson.
    lesson_topics: tuple[LessonTopic, ...] = DEFAULT_LESSON_TOPICS

    def __post_init__(self) -> None:
        if not 1 <= self.group_window_minutes <= 240:
            raise ValueError("monitoring.group_window_minutes must be between 1 and 240")
        for severity in self.urgent_severities:
            if severity not in MONITORING_SEVERITIES:
                raise ValueError(
                    f"monitoring.urgent_severities: {severity!r} is not one of "
                    f"{', '.join(MONITORING_SEVERITIES)}"
                )
        ids = [p.id for p in self.providers]
        if len(set(ids)) != len(ids):
            raise ValueError("monitoring.providers: each provider needs its own id")
        if not self.lesson_topics:
            raise ValueError("monitoring.lesson_topics must name at least one topic")

    @property
    def urgent(self) -> frozenset[str]:
        """The urgent severities: the school's, and "critical" always (a floor)."""
        return frozenset(self.urgent_severities) | {"critical"}

    def provider(self, provider_id: str) -> MonitoringProvider | None:
        """The configured provider with this id, if any."""
        return next((p for p in self.providers if p.id == provider_id), None)

    def topic(self, topic_id: str) -> LessonTopic | None:
        """The lesson topic with this id, if the school has it."""
        return next((t for t in self.lesson_topics if t.id == topic_id), None)
