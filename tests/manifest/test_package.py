"""The built package: valid against Microsoft's v1.30 schema, exactly three files, right bot id."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator, Draft7Validator
from PIL import Image

from cards.welcome import CHANNEL_MENU, STAFF_MENU
from graph.channel_history import PERMISSION_READ_CHANNEL
from graph.teams import RSC_PERMISSIONS
from manifest import build
from manifest.__main__ import main
from manifest.build import (
    ROOT,
    PackageError,
    build_package,
    load_package_config,
    render_manifest,
)
from tests.manifest.conftest import BOT_ID, OTHER_APP_ID, SCHOOL_NAME

SCHEMA_PATH = ROOT / "tests" / "schemas" / "teams-manifest-1.30.json"

PERSONAL_COMMANDS = [
    "Report a concern",
    "Request a filter change",
    "Check a video call",
    "My reports",
    "Help",
]
TEAM_COMMANDS = ["Filter log", "Open items", "Help"]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def package(
    tmp_path: Path, env: dict[str, str], write_settings: Callable[..., Path]
) -> zipfile.ZipFile:
    """The package built for the demo school, open for reading."""
    config = load_package_config(env, write_settings())
    path = build_package(config, tmp_path / "out" / "appPackage.zip")
    return zipfile.ZipFile(path)


@pytest.fixture
def manifest(package: zipfile.ZipFile) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(package.read("manifest.json"))
    return loaded


def _image(package: zipfile.ZipFile, name: str) -> Image.Image:
    image = Image.open(io.BytesIO(package.read(name)))
    image.load()
    return image


def test_the_zip_holds_exactly_the_three_files_at_its_root(package: zipfile.ZipFile) -> None:
    assert sorted(package.namelist()) == ["color.png", "manifest.json", "outline.png"]
    assert package.testzip() is None


def test_the_manifest_is_valid_against_the_v1_30_schema_with_draft_7(
    manifest: dict[str, Any], schema: dict[str, Any]
) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft7Validator(schema).iter_errors(manifest)
    ]
    assert errors == []
    assert manifest["manifestVersion"] == "1.30"
    assert manifest["$schema"].endswith("/teams/v1.30/MicrosoftTeams.schema.json")


def test_draft_7_catches_a_wrong_manifest_version_that_draft_4_lets_through(
    manifest: dict[str, Any], schema: dict[str, Any]
) -> None:
    # The schema says draft-04 but uses `const`, a later keyword: Draft 4 ignores it silently.
    wrong = {**manifest, "manifestVersion": "9.99"}
    draft7_errors = list(Draft7Validator(schema).iter_errors(wrong))
    assert [list(e.absolute_path) for e in draft7_errors] == [["manifestVersion"]]
    assert "'1.30' was expected" in draft7_errors[0].message
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert list(Draft4Validator(schema).iter_errors(wrong)) == []


def test_the_bot_id_is_the_configured_app_id(manifest: dict[str, Any]) -> None:
    assert [bot["botId"] for bot in manifest["bots"]] == [BOT_ID]
    assert manifest["id"] == BOT_ID  # TEAMS_APP_ID unset: the app id defaults to the bot id
    assert manifest["webApplicationInfo"] == {"id": BOT_ID}


def test_teams_app_id_sets_the_app_id_and_leaves_the_bot_id(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    config = load_package_config({**env, "TEAMS_APP_ID": OTHER_APP_ID}, write_settings())
    manifest = render_manifest(config)
    assert manifest["id"] == OTHER_APP_ID
    assert manifest["bots"][0]["botId"] == BOT_ID
    assert manifest["webApplicationInfo"]["id"] == BOT_ID


def test_the_bot_is_conversational_in_personal_and_team_scope_without_files(
    manifest: dict[str, Any],
) -> None:
    (bot,) = manifest["bots"]
    assert bot["scopes"] == ["personal", "team"]
    assert bot["supportsFiles"] is False
    assert bot["isNotificationOnly"] is False


def test_the_command_lists_per_scope_are_exactly_the_welcome_card_actions(
    manifest: dict[str, Any],
) -> None:
    lists = {
        tuple(entry["scopes"]): entry["commands"] for entry in manifest["bots"][0]["commandLists"]
    }
    assert list(lists) == [("personal",), ("team",)]
    assert [c["title"] for c in lists[("personal",)]] == PERSONAL_COMMANDS
    assert [c["title"] for c in lists[("team",)]] == TEAM_COMMANDS
    assert all(c.get("description") for commands in lists.values() for c in commands)
    # The words match the buttons on the welcome card, so people meet the same names.
    assert set(PERSONAL_COMMANDS) <= {label for _, label in STAFF_MENU}
    assert set(TEAM_COMMANDS) <= {label for _, label in CHANNEL_MENU}


def test_no_sso_and_exactly_one_resource_specific_permission_is_declared(
    manifest: dict[str, Any], schema: dict[str, Any]
) -> None:
    # webApplicationInfo names the app for activity-feed alerts and for RSC: no SSO resource.
    assert manifest["webApplicationInfo"] == {"id": BOT_ID}
    # One RSC permission: reading the safeguarding team's channels back, so that a card cut
    # off by a crash is found there rather than posted twice.
    assert manifest["authorization"] == {
        "permissions": {
            "resourceSpecific": [{"name": "ChannelMessage.Read.Group", "type": "Application"}]
        }
    }
    errors = list(
        Draft7Validator(schema["properties"]["authorization"]).iter_errors(
            manifest["authorization"]
        )
    )
    assert errors == []
    for key in ("permissions", "devicePermissions", "staticTabs"):
        assert key not in manifest


def test_the_bot_consents_to_exactly_the_rsc_permissions_the_package_asks_for(
    manifest: dict[str, Any],
) -> None:
    # graph.teams installs the app with consent to RSC_PERMISSIONS; Graph refuses the install
    # unless they match the package's, so the two lists must never drift apart.
    declared = [
        (p["name"], p["type"]) for p in manifest["authorization"]["permissions"]["resourceSpecific"]
    ]
    template = build.load_template()["authorization"]["permissions"]["resourceSpecific"]
    assert declared == [(p["name"], p["type"]) for p in template]
    assert declared == list(RSC_PERMISSIONS)
    assert (PERMISSION_READ_CHANNEL, "Application") in declared


def test_values_come_from_the_configuration(manifest: dict[str, Any]) -> None:
    assert manifest["version"] == "1.0.0"
    assert manifest["name"] == {"short": SCHOOL_NAME, "full": f"Online Safety at {SCHOOL_NAME}"}
    assert manifest["developer"] == {
        "name": "Oakfield Academy",
        "websiteUrl": "https://oakfield.example/online-safety",
        "privacyUrl": "https://oakfield.example/privacy",
        "termsOfUseUrl": "https://oakfield.example/online-safety/acceptable-use",
    }
    assert manifest["validDomains"] == ["safety.oakfield.example"]
    assert manifest["accentColor"] == "#1D5C7A"
    assert "Designated Safeguarding Lead" in manifest["description"]["full"]
    assert "999" in manifest["description"]["full"]


def test_description_overrides_replace_the_defaults(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    path = write_settings(short_description="Short words.", full_description="Longer words.")
    manifest = render_manifest(load_package_config(env, path))
    assert manifest["description"] == {"short": "Short words.", "full": "Longer words."}


def test_the_icons_have_the_right_size_and_transparency(package: zipfile.ZipFile) -> None:
    color = _image(package, "color.png")
    assert (color.format, color.size) == ("PNG", (192, 192))
    # Fully opaque: Teams puts it on its own tile, so no see-through corners.
    assert color.convert("RGBA").getchannel("A").getextrema() == (255, 255)

    outline = _image(package, "outline.png")
    assert (outline.format, outline.size, outline.mode) == ("PNG", (32, 32), "RGBA")
    raw = outline.tobytes()  # RGBARGBA...
    assert {raw[i : i + 3] for i in range(0, len(raw), 4)} == {b"\xff\xff\xff"}  # white only
    alphas = list(raw[3::4])
    for corner in ((0, 0), (31, 0), (0, 31), (31, 31)):
        assert outline.getpixel(corner)[3] == 0  # the background is fully transparent
    assert alphas.count(0) > len(alphas) // 2
    assert alphas.count(255) > 50  # and there is a solid white mark


def test_the_build_is_deterministic(
    tmp_path: Path, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    config = load_package_config(env, write_settings())
    first = build_package(config, tmp_path / "a" / "appPackage.zip").read_bytes()
    second = build_package(config, tmp_path / "b" / "appPackage.zip").read_bytes()
    again = build_package(config, tmp_path / "a" / "appPackage.zip").read_bytes()
    assert first == second == again
    infos = zipfile.ZipFile(io.BytesIO(first)).infolist()
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["appPackage.zip"]


def test_manifest_json_is_utf8_without_a_byte_order_mark(package: zipfile.ZipFile) -> None:
    raw = package.read("manifest.json")
    assert not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")


def test_python_m_manifest_writes_the_package_and_prints_its_path(
    tmp_path: Path,
    env: dict[str, str],
    write_settings: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in {**env, "TEAMS_APP_CONFIG": str(write_settings())}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("TEAMS_APP_ID", raising=False)
    out = tmp_path / "build" / "appPackage.zip"
    assert main(["--output", str(out)]) == 0
    assert capsys.readouterr().out == f"{out}\n"
    assert zipfile.ZipFile(out).namelist() == ["manifest.json", "color.png", "outline.png"]


def test_the_build_does_not_need_pillow(
    tmp_path: Path, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    out = tmp_path / "appPackage.zip"
    code = (
        "import sys; sys.modules['PIL'] = None\n"  # any `import PIL` now fails
        "from manifest.__main__ import main\n"
        f"sys.exit(main(['--output', {str(out)!r}]))\n"
    )
    child_env = {k: v for k, v in os.environ.items() if k != "TEAMS_APP_ID"}
    child_env.update(env, TEAMS_APP_CONFIG=str(write_settings()))
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert out.exists()


def test_a_template_value_the_build_does_not_fill_stops_the_build(
    tmp_path: Path,
    env: dict[str, str],
    write_settings: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    template = json.loads(build.TEMPLATE_PATH.read_text(encoding="utf-8"))
    template["developer"]["mpnId"] = None
    changed = tmp_path / "template.json"
    changed.write_text(json.dumps(template), encoding="utf-8")
    monkeypatch.setattr(build, "TEMPLATE_PATH", changed)
    with pytest.raises(PackageError) as caught:
        render_manifest(load_package_config(env, write_settings()))
    assert caught.value.problems == ["template.json: developer.mpnId: not filled by the build"]
