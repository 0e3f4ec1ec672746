"""Audit the locked dependencies for known vulnerabilities (run by script/test).

Offline-tolerant: when the vulnerability database cannot be reached (this project's machines
reach the package index only), it says so and passes. When it can, any known vulnerability
fails the build unless ``security/audit-notes.toml`` records it with a note (the advisory id,
why it does not apply or when it will be fixed). PyPI's advisories carry no severity, so every
finding is treated as at least high until a person has written the note.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Run pip-audit over requirements.lock; return the exit status for script/test."""
    notes_path = ROOT / "security" / "audit-notes.toml"
    noted = tomllib.loads(notes_path.read_text())["noted"] if notes_path.exists() else {}
    result = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [
            sys.executable,
            "-m",
            "pip_audit",
            "-r",
            str(ROOT / "requirements.lock"),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--format",
            "json",
            "--timeout",
            "20",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError:
        sys.stderr.write(
            f"pip-audit could not run ({result.stderr.strip()[-300:]}): audit skipped\n"
        )
        return 0
    status, lines = judge(report, noted)
    sys.stderr.write("\n".join(lines) + "\n")
    return status


def judge(report: dict, noted: dict) -> tuple[int, list[str]]:
    """The exit status and the lines to print for a pip-audit JSON report."""
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    if not audited:
        return 0, [
            f"vulnerability database unreachable: {len(deps)} locked packages not audited "
            "(audit skipped, not failed)"
        ]
    failing = []
    for dep in audited:
        for vuln in dep.get("vulns", []):
            ids = [vuln["id"], *vuln.get("aliases", [])]
            if not any(i in noted for i in ids):
                fix = ", ".join(vuln.get("fix_versions", [])) or "none yet"
                failing.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fix: {fix})")
    summary = (
        f"audited {len(audited)} of {len(deps)} locked packages; "
        f"{len(failing)} unnoted vulnerabilities"
    )
    return (1 if failing else 0), [summary, *(f"  {line}" for line in failing)]


if __name__ == "__main__":
    sys.exit(main())
