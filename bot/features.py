"""The feature list: every feature of the product, built over ``Deps`` (the composition root).

Feature modules in ``dialogs/`` never import each other (``pyproject.toml``: "Feature modules
are independent"); this is the one place that imports them all. Where one feature works with
another (typed words make a pupil report), it is handed in here.
"""

from __future__ import annotations

from dialogs import (
    concern,
    filter_request,
    fm_checks,
    handoff,
    monitoring,
    overblocking,
    pupil_feedback,
    pupil_report,
    reports,
    typed,
    video_call,
)
from dialogs.feature import Deps, Feature


def build_features(deps: Deps) -> list[Feature]:
    """Every feature of the product, built over ``deps``."""
    pupils = pupil_report.PupilReports(deps)
    return [
        concern.feature(deps),
        pupil_report.feature(deps, pupils),
        typed.feature(deps, pupils),
        filter_request.feature(deps),
        video_call.feature(deps),
        reports.feature(deps),
        overblocking.feature(deps),
        monitoring.feature(deps),
        fm_checks.feature(deps),
        pupil_feedback.feature(deps),  # issue 20: feedback to the pupil who reported
        handoff.feature(deps),
    ]
