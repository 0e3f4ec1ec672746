"""The manifest schema the tests use is Microsoft's v1.30 file, byte for byte."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OURS = REPO / "tests" / "schemas" / "teams-manifest-1.30.json"
SHARED = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "schemas"
    / "teams-manifest"
    / "v1.30"
    / "MicrosoftTeams.schema.json"
)


def test_the_test_copy_is_a_real_v1_30_schema() -> None:
    text = OURS.read_text(encoding="utf-8")
    assert '"const": "1.30"' in text
    assert OURS.stat().st_size > 100_000


def test_the_test_copy_is_byte_identical_to_the_shared_schema() -> None:
    if not SHARED.exists():  # ../shared sits beside the clone on developer machines and in CI
        return
    assert OURS.read_bytes() == SHARED.read_bytes()
