"""The dependency audit passes when it cannot see the database, and fails on an unnoted finding."""

from __future__ import annotations

import importlib.util

from tests.support import ROOT

spec = importlib.util.spec_from_file_location("audit_deps", ROOT / "script" / "audit_deps.py")
assert spec is not None and spec.loader is not None
audit_deps = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit_deps)

VULN = {"id": "PYSEC-2099-1", "aliases": ["GHSA-xxxx"], "fix_versions": ["9.9"]}


def test_an_unreachable_database_skips_the_audit_without_failing() -> None:
    report = {"dependencies": [{"name": "aiohttp", "skip_reason": "not found"}]}
    status, lines = audit_deps.judge(report, {})
    assert status == 0 and "unreachable" in lines[0]


def test_a_known_vulnerability_fails_the_build() -> None:
    report = {"dependencies": [{"name": "aiohttp", "version": "1.0", "vulns": [VULN]}]}
    status, lines = audit_deps.judge(report, {})
    assert status == 1
    assert "aiohttp 1.0: PYSEC-2099-1 (fix: 9.9)" in lines[1]


def test_a_noted_vulnerability_passes_with_its_note() -> None:
    report = {"dependencies": [{"name": "aiohttp", "version": "1.0", "vulns": [VULN]}]}
    status, _ = audit_deps.judge(report, {"GHSA-xxxx": "not reachable from our code"})
    assert status == 0


def test_the_notes_file_parses() -> None:
    import tomllib

    assert "noted" in tomllib.loads((ROOT / "security" / "audit-notes.toml").read_text())
