"""Configuration: one frozen ``Settings`` built once at start-up, the only reader of os.environ.

Environment variables use botbuilder's names (``MicrosoftAppId``, ``MicrosoftAppPassword``,
``MicrosoftAppType``, ``MicrosoftAppTenantId``); everything a school would change lives in its
policy file (TOML, ``SCHOOL_CONFIG``), validated into ``policy.school.SchoolPolicy``. Every
problem is reported at once, each naming its key; secrets never appear in ``repr`` or logs.
"""

from __future__ import annotations

import ipaddress
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import SecretStr, TypeAdapter, ValidationError

from policy.school import SchoolPolicy

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCHOOL_CONFIG = ROOT / "config" / "school.toml"
DEFAULT_LOCAL_DIRECTORY = ROOT / "config" / "demo-directory.json"
LOOPBACK = "127.0.0.1"


class ConfigError(Exception):
    """Start-up configuration is wrong. ``problems`` lists every one, each naming its key."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("configuration problems:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


class Mode(StrEnum):
    """Local mode: no Azure, auth off, loopback only. Production: a real Azure Bot."""

    LOCAL = "local"
    PRODUCTION = "production"


class AppType(StrEnum):
    """How the bot proves who it is to the Bot Connector."""

    SINGLE_TENANT = "SingleTenant"
    USER_ASSIGNED_MSI = "UserAssignedMSI"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the process needs, resolved once."""

    mode: Mode
    host: str
    port: int
    data_dir: Path
    school: SchoolPolicy
    school_config_path: Path
    local_directory_path: Path
    app_id: str = ""
    app_type: AppType | None = None
    tenant_id: str = ""
    app_password: SecretStr = field(default_factory=lambda: SecretStr(""), repr=False)
    log_level: str = "INFO"
    #: The address people reach this service at (for download links); https outside local mode.
    public_url: str = "http://127.0.0.1:3978"

    @property
    def is_local(self) -> bool:
        """True in local mode (inbound auth off; loopback only)."""
        return self.mode is Mode.LOCAL


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


def _format_pydantic(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(file)"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] in {"unexpected_keyword_argument", "extra_forbidden"}:
            message = "unknown key (check its spelling and the section it is in)"
        for part in message.split("; "):
            problems.append(f"{where}: {part}")
    return problems


def load_school_policy(path: Path) -> SchoolPolicy:
    """Read and validate the school's policy file.

    Raises:
        ConfigError: the file is missing, is not TOML, or has wrong keys or values (all listed).
    """
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"SCHOOL_CONFIG: {path} does not exist"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"SCHOOL_CONFIG: {path} is not valid TOML ({exc})"]) from None
    try:
        return TypeAdapter(SchoolPolicy).validate_python(raw)
    except ValidationError as exc:
        raise ConfigError([f"{path.name}: {p}" for p in _format_pydantic(exc)]) from None


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build the settings from ``env`` (pass ``os.environ``) and the school's policy file.

    Raises:
        ConfigError: with every problem found, not just the first.
    """
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    app_id = get("MicrosoftAppId")
    password = get("MicrosoftAppPassword")
    tenant_id = get("MicrosoftAppTenantId")
    raw_mode = get("BOT_MODE", Mode.PRODUCTION if app_id else Mode.LOCAL).lower()
    try:
        mode = Mode(raw_mode)
    except ValueError:
        problems.append(f"BOT_MODE: {raw_mode!r} is not 'local' or 'production'")
        mode = Mode.PRODUCTION

    app_type: AppType | None = None
    if mode is Mode.LOCAL:
        if app_id:
            problems.append(
                "MicrosoftAppId: local mode turns inbound authentication off, so it cannot run "
                "with an app id; unset MicrosoftAppId or set BOT_MODE=production"
            )
    else:
        if not app_id:
            problems.append("MicrosoftAppId: required outside local mode (the Azure Bot's app id)")
        elif not _is_guid(app_id):
            problems.append(f"MicrosoftAppId: {app_id!r} is not a GUID")
        if not tenant_id:
            problems.append("MicrosoftAppTenantId: required outside local mode (your tenant id)")
        elif not _is_guid(tenant_id):
            problems.append(f"MicrosoftAppTenantId: {tenant_id!r} is not a GUID")
        raw_type = get("MicrosoftAppType", AppType.SINGLE_TENANT)
        by_lower = {t.value.lower(): t for t in AppType}
        app_type = by_lower.get(raw_type.lower())
        if app_type is None:
            problems.append(
                f"MicrosoftAppType: {raw_type!r} is not supported; use SingleTenant or "
                "UserAssignedMSI (new Azure Bots cannot be multi-tenant)"
            )
        elif app_type is AppType.SINGLE_TENANT and not password:
            problems.append("MicrosoftAppPassword: required for a SingleTenant bot")

    raw_port = get("PORT", "3978")
    port = 3978
    if raw_port.isdigit() and 0 < int(raw_port) < 65536:
        port = int(raw_port)
    else:
        problems.append(f"PORT: {raw_port!r} is not a port number (1-65535)")

    host = get("HOST", LOOPBACK if mode is Mode.LOCAL else "0.0.0.0")  # noqa: S104 (behind Azure)
    if mode is Mode.LOCAL:
        try:
            if not ipaddress.ip_address(host).is_loopback:
                problems.append(
                    f"HOST: local mode has no authentication, so it binds loopback only, not {host}"
                )
        except ValueError:
            problems.append(f"HOST: {host!r} must be a loopback IP address in local mode")

    log_level = get("LOG_LEVEL", "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(f"LOG_LEVEL: {log_level!r} is not DEBUG, INFO, WARNING or ERROR")

    public_url = get("PUBLIC_BASE_URL") or f"http://{host}:{port}"
    if mode is Mode.PRODUCTION and not public_url.startswith("https://"):
        problems.append(
            "PUBLIC_BASE_URL: required outside local mode, the https address of this service "
            "(the host of the messaging endpoint), for download links"
        )

    school_path = Path(get("SCHOOL_CONFIG") or DEFAULT_SCHOOL_CONFIG)
    directory_path = Path(get("LOCAL_DIRECTORY") or DEFAULT_LOCAL_DIRECTORY)
    school: SchoolPolicy | None = None
    try:
        school = load_school_policy(school_path)
    except ConfigError as exc:
        problems.extend(exc.problems)

    if problems or school is None:
        raise ConfigError(problems)
    return Settings(
        mode=mode,
        host=host,
        port=port,
        data_dir=Path(get("BOT_DATA_DIR") or "data").resolve(),
        school=school,
        school_config_path=school_path,
        local_directory_path=directory_path,
        app_id=app_id,
        app_type=app_type,
        tenant_id=tenant_id,
        app_password=SecretStr(password),
        log_level=log_level,
        public_url=public_url.rstrip("/"),
    )


def describe(settings: Settings) -> dict[str, Any]:
    """A loggable summary: no secrets."""
    return {
        "mode": settings.mode.value,
        "host": settings.host,
        "port": settings.port,
        "data_dir": str(settings.data_dir),
        "school": settings.school.name,
        "app_id": settings.app_id or None,
        "app_type": settings.app_type.value if settings.app_type else None,
    }
