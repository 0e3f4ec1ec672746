"""Build the Teams app package (``appPackage.zip``) from the template and the school's settings.

Three pure steps, each testable on its own:

1. ``load_package_config(env, path)`` reads the bot's app id from the environment and the
   package settings from ``config/teams-app.toml``, and checks every value. All problems are
   collected, each naming its key, and raised together as one ``PackageError``.
2. ``render_manifest(config)`` fills ``manifest/template.json`` (manifest schema v1.30).
3. ``build_package(config, out)`` writes the zip: exactly ``manifest.json``, ``color.png`` and
   ``outline.png`` at its root, with fixed timestamps so that repeated builds are byte-identical.

Only the standard library is used here: building a package needs neither Pillow nor jsonschema
(the tests use both to check the result against Microsoft's schema and to check the icons).
"""

from __future__ import annotations

import copy
import json
import os
import re
import struct
import tomllib
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

MANIFEST_DIR = Path(__file__).resolve().parent
ROOT = MANIFEST_DIR.parent
TEMPLATE_PATH = MANIFEST_DIR / "template.json"
COLOR_ICON_PATH = MANIFEST_DIR / "color.png"
OUTLINE_ICON_PATH = MANIFEST_DIR / "outline.png"
DEFAULT_CONFIG_PATH = ROOT / "config" / "teams-app.toml"
DEFAULT_SCHOOL_CONFIG_PATH = ROOT / "config" / "school.toml"
DEFAULT_OUTPUT = ROOT / "build" / "appPackage.zip"

#: The manifest schema version the template targets (the current GA version).
MANIFEST_VERSION = "1.30"
#: The name used when neither teams-app.toml nor school.toml names the app.
DEFAULT_APP_NAME = "Online Safety"
#: The colour behind the shield in color.png; the default accentColor.
BRAND_COLOR = "#1D5C7A"

#: The files in the package, in the order they are written.
PACKAGE_FILES = ("manifest.json", "color.png", "outline.png")
#: Icon file name -> (width, height) Teams requires.
ICON_SIZES = {"color.png": (192, 192), "outline.png": (32, 32)}

# Limits from the v1.30 schema (name.short, name.full, description.*, developer.name).
SHORT_NAME_MAX = 30
FULL_NAME_MAX = 100
SHORT_DESCRIPTION_MAX = 80
FULL_DESCRIPTION_MAX = 4000
DEVELOPER_NAME_MAX = 32
URL_MAX = 2048
VALID_DOMAINS_MAX = 100

# 1980-01-01 is the earliest time a zip entry can hold; any fixed value makes builds repeatable.
_ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_GUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_NIL_GUID = "00000000-0000-0000-0000-000000000000"
# Teams wants MAJOR.MINOR.PATCH, numbers only, no leading zeros (no pre-release or build tags).
_SEMVER = re.compile(r"^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)$")
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_REQUIRED_TEXT = {
    "version": "the app's version, like 1.0.0; raise it for every new upload",
    "developer_name": "who publishes the app, usually the school or trust",
    "website_url": "an https:// page about the app or the school's online safety",
    "privacy_url": "the https:// address of the school's privacy notice",
    "terms_url": "the https:// address of the terms of use; the acceptable use policy will do",
}
_URL_KEYS = ("website_url", "privacy_url", "terms_url")
_OPTIONAL_TEXT = ("name", "full_name", "accent_color", "short_description", "full_description")
_KNOWN_KEYS = frozenset(_REQUIRED_TEXT) | {"valid_domains", *_OPTIONAL_TEXT}


class PackageError(Exception):
    """The package cannot be built. ``problems`` lists every reason, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("cannot build the Teams app package:\n" + _bullets(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class PackageConfig:
    """Every value the manifest takes from configuration, already checked.

    Attributes:
        app_id: The Teams app's id (manifest ``id``); ``TEAMS_APP_ID``, else the bot id.
        bot_id: The Azure Bot's Microsoft App ID (``MicrosoftAppId``).
        short_name: The name people see in Teams (30 characters at most).
        full_name: The longer name (100 characters at most).
        version: The app version, MAJOR.MINOR.PATCH.
        developer_name: Who publishes the app.
        website_url: The developer website (https).
        privacy_url: The privacy notice (https).
        terms_url: The terms of use (https).
        valid_domains: Host names the app may open, without scheme or path.
        accent_color: The colour Teams shows around the icon, ``#RRGGBB``.
        short_description: An override for the template's short description, or ``None``.
        full_description: An override for the template's full description, or ``None``.
    """

    app_id: str
    bot_id: str
    short_name: str
    full_name: str
    version: str
    developer_name: str
    website_url: str
    privacy_url: str
    terms_url: str
    valid_domains: tuple[str, ...]
    accent_color: str = BRAND_COLOR
    short_description: str | None = None
    full_description: str | None = None


def _bullets(problems: list[str]) -> str:
    return "\n".join(f"  - {problem}" for problem in problems)


def _guid_problem(name: str, value: str) -> str | None:
    if not _GUID.fullmatch(value):
        return f"{name}: {value!r} is not a GUID (like 1f2e3d4c-0000-4000-8000-123456789abc)"
    if value == _NIL_GUID:
        return f"{name}: {value} is the all-zero placeholder, not a real id"
    return None


def is_host_name(value: str, *, allow_wildcard: bool = False) -> bool:
    """True if ``value`` is a DNS host name with at least two labels, like ``safety.school.uk``.

    Args:
        value: The text to check.
        allow_wildcard: Accept one leading ``*.`` (as Teams ``validDomains`` does), provided at
            least two labels follow it.
    """
    if allow_wildcard and value.startswith("*."):
        value = value[2:]
    labels = value.split(".")
    return (
        len(value) <= 253 and len(labels) >= 2 and all(_LABEL.fullmatch(label) for label in labels)
    )


def _url_problem(where: str, value: str) -> str | None:
    if any(ch.isspace() for ch in value):
        return f"{where}: {value!r} contains spaces"
    if len(value) > URL_MAX:
        return f"{where}: is {len(value)} characters long; Teams allows {URL_MAX}"
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (raises ValueError for a malformed port)
    except ValueError:
        return f"{where}: {value!r} is not a valid URL"
    if parts.scheme.lower() != "https":
        return f"{where}: {value!r} must start with https://"
    if not is_host_name(host):
        return f"{where}: {value!r} has no valid host name"
    return None


def _read_toml(path: Path, env_name: str, problems: list[str]) -> dict[str, Any] | None:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{env_name}: {path} does not exist")
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{env_name}: {path} is not valid TOML ({exc})")
    return None


def _school_name(env: Mapping[str, str], problems: list[str]) -> str | None:
    """The ``name`` at the top of the school's policy file, or None if there is none."""
    explicit = env.get("SCHOOL_CONFIG", "").strip()
    path = Path(explicit) if explicit else DEFAULT_SCHOOL_CONFIG_PATH
    if explicit and not path.exists() and "/" not in explicit:
        # A shipped profile's name, as the bot accepts (bot.config.school_config_path).
        profiles = sorted((ROOT / "config" / "schools").glob(f"{explicit}*.toml"))
        path = profiles[0] if len(profiles) == 1 else path
    if not explicit and not path.exists():
        return None
    raw = _read_toml(path, "SCHOOL_CONFIG", problems)
    if raw is None:
        return None
    name = raw.get("name")
    if name is None:
        return None
    if not isinstance(name, str):
        problems.append(f"{path.name}: name: must be text")
        return None
    return name.strip() or None


def load_package_config(env: Mapping[str, str], path: Path | None = None) -> PackageConfig:
    """Read and check everything the package needs.

    Args:
        env: The environment (pass ``os.environ``). Reads ``MicrosoftAppId`` (required),
            ``TEAMS_APP_ID`` (optional, defaults to the bot id), ``TEAMS_APP_CONFIG`` (the
            settings file, used when ``path`` is None) and ``SCHOOL_CONFIG`` (the school's
            policy file, whose ``name`` is the default app name).
        path: The package settings file; defaults to ``TEAMS_APP_CONFIG`` or
            ``config/teams-app.toml``.

    Returns:
        The checked configuration.

    Raises:
        PackageError: with every problem found (not just the first), each naming its key.
    """
    problems: list[str] = []
    bot_id, app_id = _app_ids(env, problems)
    if path is None:
        path = Path(env.get("TEAMS_APP_CONFIG", "").strip() or DEFAULT_CONFIG_PATH)
    raw = _read_toml(path, "TEAMS_APP_CONFIG", problems)
    if raw is None:
        raise PackageError(problems)
    where = path.name
    text = _text_settings(raw, where, problems)
    _check_text_forms(text, where, problems)
    valid_domains = _check_domains(raw, where, problems)
    short_name, full_name = _app_names(env, text, where, problems)
    _check_descriptions(text, where, problems)
    if problems:
        raise PackageError(problems)
    return PackageConfig(
        app_id=app_id,
        bot_id=bot_id,
        short_name=short_name,
        full_name=full_name,
        version=text["version"],
        developer_name=text.get("developer_name", ""),
        website_url=text["website_url"],
        privacy_url=text["privacy_url"],
        terms_url=text["terms_url"],
        valid_domains=valid_domains,
        accent_color=text.get("accent_color", BRAND_COLOR),
        short_description=text.get("short_description"),
        full_description=text.get("full_description"),
    )


def _app_ids(env: Mapping[str, str], problems: list[str]) -> tuple[str, str]:
    """The bot's Microsoft App ID (required) and the Teams app id (the bot's by default)."""
    bot_id = env.get("MicrosoftAppId", "").strip()
    if not bot_id:
        problems.append(
            "MicrosoftAppId: required; set it to the Azure Bot's Microsoft App ID (a GUID)"
        )
    elif problem := _guid_problem("MicrosoftAppId", bot_id):
        problems.append(problem)
    app_id = env.get("TEAMS_APP_ID", "").strip() or bot_id
    if app_id and app_id != bot_id and (problem := _guid_problem("TEAMS_APP_ID", app_id)):
        problems.append(problem)
    return bot_id, app_id


def _text_settings(raw: Mapping[str, Any], where: str, problems: list[str]) -> dict[str, str]:
    """The settings file's text values, stripped; unknown keys, missing required ones and
    values that are not text (or are empty) are problems."""
    for key in sorted(raw.keys() - _KNOWN_KEYS):
        problems.append(f"{where}: {key}: unknown key (check its spelling)")
    text: dict[str, str] = {}
    for key in (*_REQUIRED_TEXT, *_OPTIONAL_TEXT):
        value = raw.get(key)
        if value is None:
            if key in _REQUIRED_TEXT:
                problems.append(f"{where}: {key}: required: {_REQUIRED_TEXT[key]}")
        elif not isinstance(value, str):
            problems.append(f"{where}: {key}: must be text in quotes")
        elif not value.strip():
            problems.append(f"{where}: {key}: is empty")
        else:
            text[key] = value.strip()
    return text


def _check_text_forms(text: Mapping[str, str], where: str, problems: list[str]) -> None:
    """The version, the web addresses, the developer's name and the accent colour, each in the
    form Teams takes."""
    if "version" in text and not _SEMVER.fullmatch(text["version"]):
        problems.append(
            f"{where}: version: {text['version']!r} is not MAJOR.MINOR.PATCH (like 1.0.0)"
        )
    for key in _URL_KEYS:
        if key in text and (problem := _url_problem(f"{where}: {key}", text[key])):
            problems.append(problem)
    developer = text.get("developer_name", "")
    if len(developer) > DEVELOPER_NAME_MAX:
        problems.append(
            f"{where}: developer_name: is {len(developer)} characters; "
            f"Teams allows {DEVELOPER_NAME_MAX}"
        )
    accent = text.get("accent_color", BRAND_COLOR)
    if not _HEX_COLOR.fullmatch(accent):
        problems.append(f"{where}: accent_color: {accent!r} is not a colour like #1D5C7A")


def _app_names(
    env: Mapping[str, str], text: Mapping[str, str], where: str, problems: list[str]
) -> tuple[str, str]:
    """The app's short and full names (from the file, else the school's name, else ours),
    each within Teams' length."""
    school_name = None if "name" in text else _school_name(env, problems)
    short_name = text.get("name") or school_name or DEFAULT_APP_NAME
    if len(short_name) > SHORT_NAME_MAX:
        source = "" if "name" in text else f" (taken from the school's name, {short_name!r})"
        problems.append(
            f"{where}: name: is {len(short_name)} characters{source}; Teams allows "
            f"{SHORT_NAME_MAX} for an app's name, so set a shorter name in {where}"
        )
    full_name = text.get("full_name") or _default_full_name(short_name, school_name)
    if len(full_name) > FULL_NAME_MAX:
        problems.append(
            f"{where}: full_name: is {len(full_name)} characters; Teams allows {FULL_NAME_MAX}"
        )
    return short_name, full_name


def _check_descriptions(text: Mapping[str, str], where: str, problems: list[str]) -> None:
    """The short and full descriptions, each within Teams' length."""
    for key, limit in (
        ("short_description", SHORT_DESCRIPTION_MAX),
        ("full_description", FULL_DESCRIPTION_MAX),
    ):
        if key in text and len(text[key]) > limit:
            problems.append(f"{where}: {key}: is {len(text[key])} characters; Teams allows {limit}")


def _default_full_name(short_name: str, school_name: str | None) -> str:
    if school_name and short_name == school_name:
        full = f"{DEFAULT_APP_NAME} at {school_name}"
        return full if len(full) <= FULL_NAME_MAX else short_name
    return short_name


def _check_domains(raw: Mapping[str, Any], where: str, problems: list[str]) -> tuple[str, ...]:
    value = raw.get("valid_domains")
    if value is None:
        problems.append(
            f"{where}: valid_domains: required: a list of host names, like "
            '["safety.yourschool.sch.uk"], or [] if the app opens no web pages'
        )
        return ()
    if not isinstance(value, list):
        problems.append(f"{where}: valid_domains: must be a list of host names in [ ]")
        return ()
    if len(value) > VALID_DOMAINS_MAX:
        problems.append(
            f"{where}: valid_domains: has {len(value)} entries; Teams allows {VALID_DOMAINS_MAX}"
        )
    domains: list[str] = []
    for index, entry in enumerate(value):
        at = f"{where}: valid_domains[{index}]"
        if not isinstance(entry, str):
            problems.append(f"{at}: must be text in quotes")
        elif "://" in entry or "/" in entry:
            problems.append(
                f"{at}: {entry!r} is a URL; give the host name only, like safety.yourschool.sch.uk"
            )
        elif not is_host_name(entry, allow_wildcard=True):
            problems.append(f"{at}: {entry!r} is not a host name like safety.yourschool.sch.uk")
        elif entry.lower() in (d.lower() for d in domains):
            problems.append(f"{at}: {entry!r} is listed twice")
        else:
            domains.append(entry)
    return tuple(domains)


def load_template() -> dict[str, Any]:
    """The manifest template (``manifest/template.json``) as a fresh dict."""
    template: dict[str, Any] = json.loads(TEMPLATE_PATH.read_text(encoding="utf-8"))
    return template


def _unfilled(value: Any, where: str = "") -> list[str]:
    """Paths of the ``null`` placeholders still in ``value``."""
    if value is None:
        return [where or "(root)"]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _unfilled(v, f"{where}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _unfilled(v, f"{where}[{i}]")]
    return []


def render_manifest(config: PackageConfig) -> dict[str, Any]:
    """The manifest for ``config``: the template with every configured value set.

    The template's ``null`` values are the places configuration fills; its descriptions are
    the defaults, replaced only when the settings file overrides them.

    Raises:
        PackageError: the template still has an unfilled value (it no longer matches this code).
    """
    manifest = copy.deepcopy(load_template())
    manifest["id"] = config.app_id
    manifest["version"] = config.version
    manifest["developer"].update(
        name=config.developer_name,
        websiteUrl=config.website_url,
        privacyUrl=config.privacy_url,
        termsOfUseUrl=config.terms_url,
    )
    manifest["name"].update(short=config.short_name, full=config.full_name)
    if config.short_description:
        manifest["description"]["short"] = config.short_description
    if config.full_description:
        manifest["description"]["full"] = config.full_description
    manifest["accentColor"] = config.accent_color
    for bot in manifest["bots"]:
        bot["botId"] = config.bot_id
    # "Report this message" on any message (issue 18) is served by the same bot.
    for extension in manifest.get("composeExtensions", []):
        extension["botId"] = config.bot_id
    # The activity feed (urgent alerts through Graph) and the resource-specific permission to
    # read the safeguarding team's channels back (ChannelMessage.Read.Group, so that a card cut
    # off by a crash is never posted twice) need the Entra app that calls Graph named here. It
    # is the bot's own app registration; there is no SSO, so no "resource". The template's
    # authorization.permissions.resourceSpecific is the one list of RSC permissions in the
    # package; when the bot installs itself it consents to exactly graph.teams.RSC_PERMISSIONS,
    # which tests/manifest keeps equal to it (Graph refuses an install whose consent differs).
    manifest["webApplicationInfo"]["id"] = config.bot_id
    manifest["validDomains"] = list(config.valid_domains)
    if missing := _unfilled(manifest):
        raise PackageError([f"template.json: {path}: not filled by the build" for path in missing])
    return manifest


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    """``manifest`` as Teams reads it: UTF-8 JSON without a byte-order mark, ending in a newline."""
    return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def png_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG's header, or None if ``data`` is not a PNG."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _read_icons() -> dict[str, bytes]:
    icons = {
        "color.png": COLOR_ICON_PATH.read_bytes(),
        "outline.png": OUTLINE_ICON_PATH.read_bytes(),
    }
    problems = []
    for name, data in icons.items():
        size = png_size(data)
        if size is None:
            problems.append(f"manifest/{name}: is not a PNG image")
        elif size != ICON_SIZES[name]:
            want = "x".join(map(str, ICON_SIZES[name]))
            problems.append(f"manifest/{name}: is {size[0]}x{size[1]} pixels; Teams needs {want}")
    if problems:
        raise PackageError(problems)
    return icons


def _zip_entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ZIP_TIMESTAMP)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever machine builds it, so the bytes never differ
    info.external_attr = 0o644 << 16
    return info


def build_package(config: PackageConfig, out: Path) -> Path:
    """Write the Teams app package for ``config`` to ``out`` and return its path.

    The zip holds exactly ``manifest.json``, ``color.png`` and ``outline.png`` at its root.
    Entries have fixed timestamps and permissions, so the same inputs give the same bytes.
    The file is written beside ``out`` first and then moved into place, so a failed build
    never leaves half a package behind.

    Raises:
        PackageError: an icon is missing its PNG header or has the wrong size.
    """
    contents = {"manifest.json": manifest_bytes(render_manifest(config)), **_read_icons()}
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(partial, "w") as archive:
            for name in PACKAGE_FILES:
                archive.writestr(_zip_entry(name), contents[name], compresslevel=9)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return out
