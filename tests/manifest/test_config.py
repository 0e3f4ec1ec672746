"""A missing or malformed value stops the build, with a message that names it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from manifest.__main__ import main
from manifest.build import (
    DEFAULT_APP_NAME,
    PackageError,
    load_package_config,
    render_manifest,
)
from tests.manifest.conftest import BOT_ID, SCHOOL_NAME, toml_text

REQUIRED_SETTINGS = [
    "version",
    "developer_name",
    "website_url",
    "privacy_url",
    "terms_url",
    "valid_domains",
]
URL_SETTINGS = ["website_url", "privacy_url", "terms_url"]


def problems_for(env: dict[str, str], path: Path) -> list[str]:
    """The problems ``load_package_config`` reports (fails the test if there are none)."""
    with pytest.raises(PackageError) as caught:
        load_package_config(env, path)
    assert str(caught.value).startswith("cannot build the Teams app package:")
    return caught.value.problems


def assert_one_problem_naming(problems: list[str], key: str) -> None:
    assert len(problems) == 1, problems
    assert f"{key}:" in problems[0] or f"{key}[" in problems[0], problems


def test_the_shipped_demo_settings_are_valid(school_file: Path) -> None:
    config = load_package_config({"MicrosoftAppId": BOT_ID, "SCHOOL_CONFIG": str(school_file)})
    assert config.bot_id == config.app_id == BOT_ID
    assert config.short_name == SCHOOL_NAME
    assert all(
        url.startswith("https://oakfield.example/")
        for url in (config.website_url, config.privacy_url, config.terms_url)
    )


@pytest.mark.parametrize("key", REQUIRED_SETTINGS)
def test_each_missing_setting_stops_the_build_and_names_it(
    key: str,
    tmp_path: Path,
    env: dict[str, str],
    write_settings: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_settings(**{key: None})
    assert_one_problem_naming(problems_for(env, path), key)
    # And through the command a school runs: status 2, the key named, no package written.
    for name, value in {**env, "TEAMS_APP_CONFIG": str(path)}.items():
        monkeypatch.setenv(name, value)
    out = tmp_path / "build" / "appPackage.zip"
    assert main(["--output", str(out)]) == 2
    captured = capsys.readouterr()
    assert f"{key}:" in captured.err
    assert captured.out == ""
    assert not out.exists()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_a_missing_bot_id_stops_the_build(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    del env["MicrosoftAppId"]
    assert_one_problem_naming(problems_for(env, write_settings()), "MicrosoftAppId")


@pytest.mark.parametrize("value", ["   ", ""])
def test_a_blank_bot_id_is_missing(
    value: str, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    env["MicrosoftAppId"] = value
    assert_one_problem_naming(problems_for(env, write_settings()), "MicrosoftAppId")


@pytest.mark.parametrize(
    "value",
    [
        "not-a-guid",
        "2b7a1f3c5d6e4f708a9b0c1d2e3f4a5b",  # no hyphens
        "{2b7a1f3c-5d6e-4f70-8a9b-0c1d2e3f4a5b}",
        "2b7a1f3c-5d6e-4f70-8a9b-0c1d2e3f4a5",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_a_bot_id_that_is_not_a_guid_stops_the_build(
    value: str, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    env["MicrosoftAppId"] = value
    assert_one_problem_naming(problems_for(env, write_settings()), "MicrosoftAppId")


@pytest.mark.parametrize("value", ["teams-app", "2b7a1f3c-5d6e-4f70-8a9b-0c1d2e3f4a5g"])
def test_an_app_id_that_is_not_a_guid_stops_the_build(
    value: str, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    env["TEAMS_APP_ID"] = value
    assert_one_problem_naming(problems_for(env, write_settings()), "TEAMS_APP_ID")


@pytest.mark.parametrize("key", URL_SETTINGS)
@pytest.mark.parametrize(
    "value",
    [
        "http://oakfield.example/privacy",
        "oakfield.example/privacy",
        "ftp://oakfield.example/privacy",
        "https://",
        "https:///privacy",
        "https://oakfield example/privacy",
        "https://localhost/privacy",
        "https://oakfield.example:port/privacy",
        "",
    ],
)
def test_a_url_that_is_not_https_stops_the_build(
    key: str, value: str, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    assert_one_problem_naming(problems_for(env, write_settings(**{key: value})), key)


@pytest.mark.parametrize("value", ["1.0", "v1.0.0", "1.0.0-beta", "01.0.0", "1.0.0.0", "one"])
def test_a_version_that_is_not_semver_stops_the_build(
    value: str, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    assert_one_problem_naming(problems_for(env, write_settings(version=value)), "version")


@pytest.mark.parametrize(
    "entry",
    [
        "https://safety.oakfield.example",
        "safety.oakfield.example/api",
        "safety oakfield.example",
        "localhost",
        "-safety.oakfield.example",
        "safety..oakfield.example",
        "*.example",
        "",
        42,
    ],
)
def test_a_malformed_valid_domains_entry_stops_the_build(
    entry: Any, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    path = write_settings(valid_domains=["safety.oakfield.example", entry])
    problems = problems_for(env, path)
    assert_one_problem_naming(problems, "valid_domains")
    assert "valid_domains[1]" in problems[0]


def test_valid_domains_must_be_a_list(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    path = write_settings(valid_domains="safety.oakfield.example")
    assert_one_problem_naming(problems_for(env, path), "valid_domains")


def test_valid_domains_accepts_wildcards_and_an_empty_list(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    path = write_settings(valid_domains=["*.oakfield.example", "safety.oakfield.sch.uk"])
    assert load_package_config(env, path).valid_domains == (
        "*.oakfield.example",
        "safety.oakfield.sch.uk",
    )
    assert load_package_config(env, write_settings(valid_domains=[])).valid_domains == ()


def test_a_name_too_long_for_teams_stops_the_build(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    path = write_settings(name="The Oakfield Academy Online Safety")  # 34 characters
    problems = problems_for(env, path)
    assert_one_problem_naming(problems, "name")
    assert "34 characters" in problems[0]
    assert "30" in problems[0]


def test_a_school_name_too_long_for_teams_stops_the_build_and_says_where_it_came_from(
    tmp_path: Path, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    school = tmp_path / "long-school.toml"
    school.write_text(toml_text({"name": "St John's College Preparatory School"}))
    env["SCHOOL_CONFIG"] = str(school)
    problems = problems_for(env, write_settings())
    assert_one_problem_naming(problems, "name")
    assert "St John's College Preparatory School" in problems[0]
    # Setting a shorter name in teams-app.toml fixes it.
    config = load_package_config(env, write_settings(name="Online Safety"))
    assert config.short_name == "Online Safety"


def test_the_name_defaults_to_online_safety_when_the_school_has_none(
    tmp_path: Path, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    school = tmp_path / "nameless.toml"
    school.write_text('timezone = "Europe/London"\n')
    env["SCHOOL_CONFIG"] = str(school)
    manifest = render_manifest(load_package_config(env, write_settings()))
    assert manifest["name"] == {"short": DEFAULT_APP_NAME, "full": DEFAULT_APP_NAME}


def test_an_explicit_name_wins_over_the_school_name(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    config = load_package_config(env, write_settings(name="Online Safety"))
    assert (config.short_name, config.full_name) == ("Online Safety", "Online Safety")


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("developer_name", "The Oakfield Academy Multi-Academy Trust"),  # over 32
        ("full_name", "x" * 101),
        ("short_description", "x" * 81),
        ("full_description", "x" * 4001),
        ("accent_color", "teal"),
        ("accent_color", "#12345"),
        ("version", 1),
        ("name", ""),
    ],
)
def test_other_malformed_values_stop_the_build_and_name_the_key(
    key: str, value: Any, env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    assert_one_problem_naming(problems_for(env, write_settings(**{key: value})), key)


def test_an_unknown_key_is_an_error(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    assert_one_problem_naming(problems_for(env, write_settings(privacy_ulr="x")), "privacy_ulr")


def test_every_problem_is_reported_at_once(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    env["MicrosoftAppId"] = "nope"
    env["TEAMS_APP_ID"] = "also-nope"
    path = write_settings(version="1", website_url="http://x.example", terms_url=None)
    problems = problems_for(env, path)
    for key in ("MicrosoftAppId", "TEAMS_APP_ID", "version", "website_url", "terms_url"):
        assert sum(f"{key}:" in problem for problem in problems) == 1, (key, problems)
    assert len(problems) == 5


def test_a_missing_or_broken_settings_file_is_named(tmp_path: Path, env: dict[str, str]) -> None:
    problems = problems_for(env, tmp_path / "absent.toml")
    assert_one_problem_naming(problems, "TEAMS_APP_CONFIG")
    broken = tmp_path / "broken.toml"
    broken.write_text("version = \n")
    assert_one_problem_naming(problems_for(env, broken), "TEAMS_APP_CONFIG")


def test_the_settings_file_comes_from_teams_app_config(
    env: dict[str, str], write_settings: Callable[..., Path]
) -> None:
    env["TEAMS_APP_CONFIG"] = str(write_settings(version="2.3.4"))
    assert load_package_config(env).version == "2.3.4"
