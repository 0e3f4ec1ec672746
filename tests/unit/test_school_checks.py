"""A school file is checked as a whole before the bot starts (issue 19): every problem is
listed at once, each saying what to fix; ``script/check-config`` prints a preview of a good
file and exits non-zero for a bad one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_school_policy
from tests.support import ROOT

DEMO = (ROOT / "config" / "school.toml").read_text(encoding="utf-8")
NEVER = 'never_unblockable_categories = ["iwf_child_abuse", "police_terrorism"]'
CHAIR = 'chair_of_governors = ["5c400000-0000-4000-8000-000000000110"]'


def problems_in(tmp_path: Path, text: str) -> str:
    path = tmp_path / "school.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_school_policy(path)
    return "\n".join(raised.value.problems)


def test_the_demo_school_passes() -> None:
    school = load_school_policy(ROOT / "config" / "school.toml")
    assert school.name == "Oakfield Academy (demo)"


def test_a_missing_chair_of_governors_is_refused_with_what_to_do(tmp_path: Path) -> None:
    text = problems_in(tmp_path, DEMO.replace(CHAIR, ""))

    assert "roles.chair_of_governors: list at least one group id" in text
    assert "concerns about the headteacher go to the chair of governors" in text


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    bad = (
        DEMO.replace(NEVER, 'never_unblockable_categories = ["iwf"]')
        .replace(CHAIR, "")
        .replace(
            'sensitive_categories = ["extremism"',
            'sensitive_categories = ["police_terrorism", "extremsm"',
        )
        + """
[pupil_worries]
asked = "groming"

[clauses]
remote_teachng = "Policy 6.2: Remote learning"

[role_fallbacks]
chair_of_governors = ["headteacher"]

[[terms]]
name = "Overlap"
start = 2026-12-01
end = 2027-01-10
"""
    )
    text = problems_in(tmp_path, bad)

    for expected in [
        "filtering.never_unblockable_categories: 'iwf' is not a known name (did you mean "
        "'iwf_child_abuse'?)",
        "filtering.sensitive_categories: 'extremsm' is not a known name (did you mean "
        "'extremism'?)",
        "filtering.sensitive_categories: 'police_terrorism' is never unblockable",
        "roles.chair_of_governors: list at least one group id",
        "pupil_worries.asked: 'groming' is not one of the school's categories (did you mean "
        "'grooming'?)",
        "clauses: 'remote_teachng' is not a known name (did you mean 'remote_teaching'?)",
        "role_fallbacks.chair_of_governors: concerns about the headteacher must never go to "
        "the headteacher",
        "terms: 'Autumn 2026' (2026-09-02–2026-12-18) overlaps 'Overlap'",
    ]:
        assert expected in text, f"{expected!r} not in:\n{text}"


def test_an_unknown_checklist_action_is_named(tmp_path: Path) -> None:
    text = problems_in(
        tmp_path,
        DEMO
        + """
[[categories]]
id = "other"
label = "Something else"
group = "other"
checklist = ["parents_informed", "tell_the_press"]
""",
    )
    assert "categories.other.checklist: 'tell_the_press' is not a known name" in text


def check_config(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", "check-config", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_config_previews_a_good_file_for_the_dsl() -> None:
    done = check_config(str(ROOT / "config" / "school.toml"))

    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Policy preview: Oakfield Academy (demo)" in out
    assert (
        "Concern about a member of staff: the headteacher, privately; about the headteacher: "
        "the chair of governors, privately"
    ) in out
    assert "A pupil who says they are not safe, or not sure, is always urgent." in out
    assert "Lessons: mon, tue, wed, thu, fri, 09:00–17:00" in out
    assert "Never unblocked: Child sexual abuse content (IWF list), Unlawful terrorist" in out
    assert "re-block due at 17:00" in out


def test_check_config_refuses_a_bad_file_listing_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "typo.toml"
    path.write_text(
        DEMO.replace(NEVER, 'never_unblockable_categories = ["iwf"]').replace(CHAIR, "")
    )

    done = check_config(str(path))

    assert done.returncode == 1
    assert "NOT READY, 2 problem(s) to fix" in done.stderr
    assert "'iwf' is not a known name" in done.stderr
    assert "roles.chair_of_governors" in done.stderr
    assert "Policy preview" not in done.stdout


@pytest.mark.parametrize("profile", sorted(p.name for p in (ROOT / "config" / "schools").glob("*")))
def test_no_profile_can_make_an_unsure_or_unsafe_pupil_routine(profile: str) -> None:
    from policy.concerns import RiskAnswer, is_urgent

    school = load_school_policy(ROOT / "config" / "schools" / profile)
    for category in school.categories:
        assert is_urgent(category, RiskAnswer.NOT_SURE)
        assert is_urgent(category, RiskAnswer.YES)


def test_check_config_passes_all_five_profiles() -> None:
    done = check_config(*sorted(str(p) for p in (ROOT / "config" / "schools").glob("*.toml")))

    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Policy preview:") == 5
    assert (
        "Concern about a member of staff: the Headteacher, privately; about the Headteacher: "
        "the Chair of Governors, privately"
    ) in done.stdout
