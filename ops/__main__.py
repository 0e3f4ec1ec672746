"""``python -m ops <command> [options]``: the one entry point for the operator commands.

Each command is one module's ``main``; the options after the command's name go to it unchanged,
so ``python -m ops backup --help`` shows the backup command's own help. The ``script/`` wrappers
(``script/backup``, ``script/report`` and the rest) call this.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

#: Command name -> (module with ``main(argv) -> int``, one line for ``--help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "backup": ("ops.backup", "back up, verify or restore the data folder (script/backup)"),
    "retention": ("ops.retention", "list or remove records past retention (script/retention)"),
    "rotate-key": ("ops.rotate_key", "make a key, or re-seal every record (script/rotate-key)"),
    "migrate": ("ops.migrate", "bring the PostgreSQL schema up to date (script/migrate)"),
    "move-to-postgres": (
        "ops.move_to_postgres",
        "copy the embedded store into PostgreSQL (script/move-to-postgres)",
    ),
    "reports": (
        "ops.reports",
        "the governors' report, the filtering review pack, demo records (script/report)",
    ),
    "filter-log": ("ops.filter_log", "the filtering change log as CSV (script/filter-log)"),
    "check-config": ("ops.check_config", "check school settings files (script/check-config)"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_module, summary) in COMMANDS.items():
        # The command's own parser reads its options (and --help): none are declared here.
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns its exit status."""
    argv = sys.argv[1:] if argv is None else argv
    # Only the command's name is parsed here, so every option reaches the command as it was.
    command = _parser().parse_args(argv[:1]).command
    run: Callable[[list[str]], int] = importlib.import_module(COMMANDS[command][0]).main
    return run(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
