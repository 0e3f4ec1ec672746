"""Configuration: every problem reported at once, each naming its key; secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Mode, load_school_policy, load_settings
from policy.categories import DEFAULT_CATEGORIES
from policy.roles import Role
from tests.support import ROOT

APP_ID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
TENANT = "5c400000-0000-4000-8000-000000000000"
KEY = "x" * 43 + "="


def test_production_needs_an_encryption_key_and_bad_keys_are_named() -> None:
    base = {
        "MicrosoftAppId": APP_ID,
        "MicrosoftAppTenantId": TENANT,
        "MicrosoftAppPassword": "x",
        "PUBLIC_BASE_URL": "https://safety.oakfield.example",
    }
    assert [p.split(":")[0] for p in problems(base)] == ["BOT_ENCRYPTION_KEY"]
    short = problems({**base, "BOT_ENCRYPTION_KEY": "c2hvcnQ="})
    assert short == ["BOT_ENCRYPTION_KEY: the encryption key must be 32 bytes (AES-256), not 5"]
    old = problems({**base, "BOT_ENCRYPTION_KEY": KEY, "BOT_ENCRYPTION_OLD_KEYS": "nope!"})
    assert old[0].startswith("BOT_ENCRYPTION_OLD_KEYS #1:")


def test_the_shipped_demo_school_loads_with_the_briefs_defaults() -> None:
    school = load_school_policy(ROOT / "config" / "school.toml")

    assert school.name == "Oakfield Academy (demo)"
    assert school.timezone == "Europe/London"
    assert school.video_calls.teaching_hours.start.isoformat() == "09:00:00"
    assert school.video_calls.teaching_hours.end.isoformat() == "17:00:00"
    assert school.video_calls.pupil_contact_hours.start.isoformat() == "07:30:00"
    assert school.video_calls.pupil_contact_hours.end.isoformat() == "19:30:00"
    assert school.escalation.urgent_unacknowledged_minutes == 15
    assert school.filtering.max_exception_days == 14
    assert set(school.filtering.never_unblockable_categories) == {
        "iwf_child_abuse",
        "police_terrorism",
    }
    assert school.categories == DEFAULT_CATEGORIES
    assert school.channels.dsl_channel_id == "19:dsl@thread.tacv2"
    assert school.role_groups()[Role.DSL] == {"5c400000-0000-4000-8000-000000000103"}


def test_local_mode_is_the_default_and_binds_loopback(tmp_path: Path) -> None:
    settings = load_settings({"BOT_DATA_DIR": str(tmp_path)})

    assert settings.mode is Mode.LOCAL
    assert settings.host == "127.0.0.1"
    assert settings.port == 3978
    assert settings.data_dir == tmp_path


def test_port_and_data_dir_can_be_overridden(tmp_path: Path) -> None:
    settings = load_settings({"PORT": "4100", "BOT_DATA_DIR": str(tmp_path / "x")})
    assert (settings.port, settings.data_dir) == (4100, tmp_path / "x")


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_settings(env)
    return raised.value.problems


def test_local_mode_refuses_a_non_loopback_host() -> None:
    [problem] = problems({"HOST": "0.0.0.0"})
    assert problem.startswith("HOST:") and "loopback" in problem


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"BOT_MODE": "production"}, "MicrosoftAppId: required"),
        ({"MicrosoftAppId": "my-bot"}, "MicrosoftAppId: 'my-bot' is not a GUID"),
        ({"MicrosoftAppId": APP_ID}, "MicrosoftAppTenantId: required"),
        (
            {"MicrosoftAppId": APP_ID, "MicrosoftAppTenantId": TENANT},
            "MicrosoftAppPassword: required",
        ),
        (
            {"MicrosoftAppId": APP_ID, "MicrosoftAppTenantId": TENANT, "MicrosoftAppType": "Multi"},
            "MicrosoftAppType: 'Multi' is not supported",
        ),
    ],
    ids=["no-app-id", "app-id-not-guid", "no-tenant", "no-password", "multi-tenant"],
)
def test_production_refuses_to_start_without_a_valid_identity(
    env: dict[str, str], key: str
) -> None:
    assert any(p.startswith(key) for p in problems(env)), problems(env)


def test_a_managed_identity_needs_no_password(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppTenantId": TENANT,
            "MicrosoftAppType": "UserAssignedMSI",
            "PUBLIC_BASE_URL": "https://safety.oakfield.example",
            "BOT_ENCRYPTION_KEY": KEY,
            "BOT_DATA_DIR": str(tmp_path),
        }
    )
    assert settings.mode is Mode.PRODUCTION and settings.host == "0.0.0.0"


def test_every_environment_problem_is_reported_together() -> None:
    found = problems(
        {"BOT_MODE": "production", "PORT": "eighty", "LOG_LEVEL": "chatty", "MicrosoftAppId": "x"}
    )
    keys = {p.split(":")[0] for p in found}
    assert keys >= {"PORT", "LOG_LEVEL", "MicrosoftAppId", "MicrosoftAppTenantId"}


def test_the_app_password_never_appears_in_repr(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppTenantId": TENANT,
            "MicrosoftAppPassword": "s3cret-Value~xyz",
            "PUBLIC_BASE_URL": "https://safety.oakfield.example/",
            "BOT_ENCRYPTION_KEY": KEY,
            "BOT_DATA_DIR": str(tmp_path),
        }
    )
    assert "s3cret-Value~xyz" not in repr(settings)
    assert "s3cret-Value~xyz" not in str(settings)
    assert settings.app_password.get_secret_value() == "s3cret-Value~xyz"
    assert settings.public_url == "https://safety.oakfield.example"


def test_production_needs_the_public_https_address() -> None:
    found = problems(
        {
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppTenantId": TENANT,
            "MicrosoftAppPassword": "x",
            "PUBLIC_BASE_URL": "http://insecure.example",
            "BOT_ENCRYPTION_KEY": KEY,
        }
    )
    assert [p.split(":")[0] for p in found] == ["PUBLIC_BASE_URL"]


BAD_SCHOOL = """
name = ""
timezone = "Europe/Londn"
colour = "blue"

[roles]
staff = ["not-a-guid"]
dsl = ["5c400000-0000-4000-8000-000000000103"]
pupil = ["5c400000-0000-4000-8000-000000000102"]
headteacher = ["5c400000-0000-4000-8000-000000000107"]
janitor = ["5c400000-0000-4000-8000-000000000111"]

[channels]
team_id = "Safeguarding team"
dsl_channel_id = "19:dsl@thread.tacv2"
it_channel_id = "19:dsl@thread.tacv2"

[escalation]
urgent_unacknowledged_minutes = 0

[video_calls]
teaching_hours = { start = "17:00", end = "09:00" }
pupil_contact_hours = { start = "7.30am", end = "19:30" }
"""


def test_a_bad_school_file_names_every_wrong_key_and_why(tmp_path: Path) -> None:
    path = tmp_path / "school.toml"
    path.write_text(BAD_SCHOOL)

    with pytest.raises(ConfigError) as raised:
        load_school_policy(path)
    text = "\n".join(raised.value.problems)

    for expected in [
        "colour: unknown key",
        "roles.janitor",
        "channels: team_id 'Safeguarding team' is not a Teams conversation id",
        "escalation: urgent_unacknowledged_minutes must be between 1 and 240",
        "video_calls.teaching_hours: hours: end 09:00 must be after start 17:00",
        "video_calls.pupil_contact_hours.start",
    ]:
        assert expected in text, f"{expected!r} not in:\n{text}"
    assert all(p.startswith("school.toml: ") for p in raised.value.problems)


def test_school_level_rules_are_all_reported(tmp_path: Path) -> None:
    path = tmp_path / "school.toml"
    path.write_text(
        BAD_SCHOOL.replace("janitor = [", "# janitor = [")
        .replace("colour = ", "# colour = ")
        .replace('team_id = "Safeguarding team"', 'team_id = "19:s@thread.tacv2"')
        .replace('it_channel_id = "19:dsl', 'it_channel_id = "19:it')
        .replace("urgent_unacknowledged_minutes = 0", "")
        .replace('{ start = "17:00", end = "09:00" }', '{ start = "09:00", end = "17:00" }')
        .replace('"7.30am"', '"07:30"')
    )

    with pytest.raises(ConfigError) as raised:
        load_school_policy(path)
    text = "\n".join(raised.value.problems)

    assert "name must not be empty" in text
    assert "timezone 'Europe/Londn' is not a known IANA time zone" in text
    assert "roles.staff 'not-a-guid' is not a GUID" in text


def test_a_missing_or_unparsable_school_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_school_policy(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = 'x\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_school_policy(broken)
