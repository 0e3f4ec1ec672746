"""The package offers "Report this message" on any Teams message (issue 18), served by the bot,
and stays valid against the v1.30 schema."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from bot.message_action import COMMAND_ID
from manifest.build import ROOT, build_package, load_package_config
from tests.manifest.conftest import BOT_ID

SCHEMA_PATH = ROOT / "tests" / "schemas" / "teams-manifest-1.30.json"


def built(tmp_path: Path, env: dict[str, str], write_settings: Callable[..., Path]) -> Any:
    config = load_package_config(env, write_settings())
    path = build_package(config, tmp_path / "out" / "appPackage.zip")
    return json.loads(zipfile.ZipFile(path).read("manifest.json"))


def test_report_this_message_is_a_message_action_of_the_bot(
    tmp_path: Path, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    manifest = built(tmp_path, env, write_settings)

    [extension] = manifest["composeExtensions"]
    assert extension["botId"] == BOT_ID == manifest["bots"][0]["botId"]
    [command] = extension["commands"]
    assert command["id"] == COMMAND_ID
    assert command["type"] == "action"
    assert command["context"] == ["message"]
    assert command["fetchTask"] is True
    assert command["title"] == "Report this message"
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=str)
    assert errors == [], [e.message for e in errors]
