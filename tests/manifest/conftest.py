"""Fixtures for the Teams app package tests: a valid settings file, a school and the bot id."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

BOT_ID = "2b7a1f3c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
OTHER_APP_ID = "9c8d7e6f-1a2b-4c3d-8e4f-5a6b7c8d9e0f"
SCHOOL_NAME = "Oakfield Academy (demo)"

#: A complete, valid config/teams-app.toml for the demo school.
VALID_SETTINGS: dict[str, Any] = {
    "version": "1.0.0",
    "developer_name": "Oakfield Academy",
    "website_url": "https://oakfield.example/online-safety",
    "privacy_url": "https://oakfield.example/privacy",
    "terms_url": "https://oakfield.example/online-safety/acceptable-use",
    "valid_domains": ["safety.oakfield.example"],
}


def toml_text(values: Mapping[str, Any]) -> str:
    """Top-level TOML for strings, numbers and lists of them (JSON strings are valid TOML)."""
    lines = []
    for key, value in values.items():
        if isinstance(value, list):
            rendered = "[" + ", ".join(json.dumps(item) for item in value) + "]"
        else:
            rendered = json.dumps(value)
        lines.append(f"{key} = {rendered}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def school_file(tmp_path: Path) -> Path:
    """A school policy file whose ``name`` is the demo school's."""
    path = tmp_path / "school.toml"
    path.write_text(toml_text({"name": SCHOOL_NAME}), encoding="utf-8")
    return path


@pytest.fixture
def write_settings(tmp_path: Path) -> Callable[..., Path]:
    """Write a teams-app.toml: the valid settings, with ``changes`` applied (None removes)."""

    def write(**changes: Any) -> Path:
        values = {**VALID_SETTINGS, **changes}
        values = {key: value for key, value in values.items() if value is not None}
        path = tmp_path / "teams-app.toml"
        path.write_text(toml_text(values), encoding="utf-8")
        return path

    return write


@pytest.fixture
def env(school_file: Path) -> dict[str, str]:
    """The environment a package build sees: the bot id and the test school."""
    return {"MicrosoftAppId": BOT_ID, "SCHOOL_CONFIG": str(school_file)}
