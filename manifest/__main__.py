"""``python -m manifest``: build the Teams app package and print where it is.

Exits with status 2, listing every problem (each naming its key), when a value is missing or
malformed. ``script/package`` runs this after setting up the virtual environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from manifest.build import DEFAULT_OUTPUT, PackageError, build_package, load_package_config


def main(argv: Sequence[str] | None = None) -> int:
    """Build the package; return the process exit status.

    Args:
        argv: Command-line arguments (without the program name); ``sys.argv[1:]`` if None.

    Returns:
        0 when the package was written, 2 when the configuration is wrong.
    """
    parser = argparse.ArgumentParser(
        prog="python -m manifest",
        description="Build the Teams app package (manifest.json and the two icons, zipped).",
        epilog="Reads MicrosoftAppId and TEAMS_APP_ID from the environment and the settings "
        "from config/teams-app.toml (or TEAMS_APP_CONFIG). See docs/deployment.md.",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the zip (default: build/appPackage.zip)",
    )
    args = parser.parse_args(argv)
    try:
        config = load_package_config(os.environ)
        path = build_package(config, args.output)
    except PackageError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
