"""``script/check-config [FILE ...]``: check school files before they go live.

Each file (default: ``SCHOOL_CONFIG``, else ``config/school.toml``; a shipped profile's name
works too) is validated exactly as the bot does at start-up. A good file prints a plain-English
preview of what it means (``policy.preview``) for a DSL to read and sign off; a bad one prints
every problem at once. Exits 1 if any file has a problem.
"""

from __future__ import annotations

import argparse
import os
import sys

from bot.config import ConfigError, load_school_policy, school_config_path
from policy.preview import preview


def main(argv: list[str] | None = None) -> int:
    """Check each file; print its preview or its problems. Returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="script/check-config",
        description="Check a school's settings file and preview what it means.",
    )
    parser.add_argument(
        "files",
        nargs="*",
        help="school files or shipped profile names (default: SCHOOL_CONFIG or the demo school)",
    )
    parser.add_argument("--quiet", action="store_true", help="problems only, no preview")
    args = parser.parse_args(argv)
    names = args.files or [os.environ.get("SCHOOL_CONFIG", "")]
    failed = 0
    for name in names:
        path = school_config_path(name.strip())
        try:
            school = load_school_policy(path)
        except ConfigError as exc:
            failed += 1
            sys.stderr.write(f"{path}: NOT READY, {len(exc.problems)} problem(s) to fix:\n")
            for problem in exc.problems:
                sys.stderr.write(f"  - {problem}\n")
            continue
        sys.stdout.write(f"{path}: OK\n")
        if not args.quiet:
            sys.stdout.write(preview(school) + "\n")
    return 1 if failed else 0
