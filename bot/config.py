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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr, TypeAdapter, ValidationError

from policy.handoff import secret_problem
from policy.school import SchoolPolicy
from policy.school_checks import school_problems
from store.crypto import parse_key

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


class DirectorySource(StrEnum):
    """Where people and roles come from."""

    GRAPH = "graph"
    FILE = "file"


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
    #: Service URL prefixes the bot exchanges activities with (production; local: loopback).
    allowed_service_urls: tuple[str, ...] = ("https://smba.trafficmanager.net/",)
    #: Bot Framework OpenID metadata (only for sovereign clouds or the offline auth tests).
    openid_metadata_url: str | None = None
    #: AES-256 keys for records at rest: the first seals, all open (rotation). Never logged.
    encryption_keys: tuple[SecretStr, ...] = field(default=(), repr=False)
    # -- Microsoft Graph (who is who, the safeguarding team, alerts, meetings) -------------------
    #: Where people and roles come from: "graph" (production default) or "file" (local mode).
    directory_source: DirectorySource = DirectorySource.FILE
    #: A certificate (PEM with its private key) for Graph instead of the client secret.
    graph_certificate_path: Path | None = None
    #: The Teams app's manifest id (``TEAMS_APP_ID``, else the bot's app id).
    teams_app_id: str = ""
    #: The app's id in the tenant app catalog, so the bot can add itself to the safeguarding team.
    teams_app_catalog_id: str = ""
    #: Seconds a person's roles are used before Graph is asked again.
    directory_cache_seconds: int = 600
    #: The school's mail domains (besides each organiser's own), to spot external meeting guests.
    school_mail_domains: tuple[str, ...] = ()
    #: PostgreSQL instead of the embedded TinyDB files (``DATABASE_URL``, a ``postgresql://``
    #: URL): several instances, or a trust's schools, share one database. May hold a password.
    database_url: SecretStr | None = field(default=None, repr=False)
    #: Local mode only: a loopback stand-in for Teams' Graph API that lists the channel posts it
    #: took (the test connectors), so a post cut off by a kill is looked for before it is sent
    #: again. Production reads channels back through Graph itself.
    local_graph_url: str | None = None
    #: ``/healthz`` says "degraded" once a message has waited in the outbox longer than this
    #: (``OUTBOX_DEGRADED_AFTER_SECONDS``; seconds, default 15 minutes).
    outbox_degraded_after_seconds: int = 900
    #: Local mode with the embedded store and no key configured: the key file beside the data
    #: folder (``data.key`` for ``data/``), made on the first start (``bot.local_key``); its key,
    #: once it exists, is in ``encryption_keys``.
    local_key_file: Path | None = None
    #: Each monitoring provider's shared secret (issue 21), by provider id, read from the
    #: environment variable the school file names (``[[monitoring.providers]] secret_env``).
    #: Never in a file of the repository, never logged.
    monitoring_secrets: dict[str, SecretStr] = field(default_factory=dict, repr=False)
    #: The hand-off webhook's secret (issue 20), from the environment variable the school file
    #: names (``handoff.webhook_secret_env``); None without a webhook. Never logged.
    handoff_webhook_secret: SecretStr | None = field(default=None, repr=False)

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
        school = TypeAdapter(SchoolPolicy).validate_python(raw)
    except ValidationError as exc:
        raise ConfigError([f"{path.name}: {p}" for p in _format_pydantic(exc)]) from None
    problems = school_problems(school)
    if problems:
        raise ConfigError([f"{path.name}: {p}" for p in problems])
    return school


#: Where the shipped school profiles live (``SCHOOL_CONFIG=boarding`` picks one by name).
PROFILES_DIR = ROOT / "config" / "schools"


def school_config_path(value: str) -> Path:
    """``SCHOOL_CONFIG`` as a path: a file, or the name of a shipped profile in
    ``config/schools/`` (such as ``001`` or ``001-kcc-template``)."""
    if not value:
        return DEFAULT_SCHOOL_CONFIG
    given = Path(value)
    if given.suffix == ".toml" or "/" in value or given.exists():
        return given
    matches = sorted(PROFILES_DIR.glob(f"{value}*.toml")) or sorted(
        PROFILES_DIR.glob(f"*{value}*.toml")
    )
    return matches[0] if len(matches) == 1 else given


#: Reads one environment variable, stripped (``default`` when unset).
Getter = Callable[..., str]


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build the settings from ``env`` (pass ``os.environ``) and the school's policy file.

    Each step reads its variables and adds what is wrong to ``problems``, in this order.

    Raises:
        ConfigError: with every problem found, not just the first.
    """
    problems: list[str] = []

    def get(name: str, default: str = "") -> str:
        return env.get(name, default).strip()

    app_id = get("MicrosoftAppId")
    password = get("MicrosoftAppPassword")
    tenant_id = get("MicrosoftAppTenantId")
    mode = _mode(get, app_id, problems)
    app_type = _app_identity(get, mode, app_id, tenant_id, password, problems)
    port = _port(get, problems)
    host = _host(get, mode, problems)
    log_level = _log_level(get, problems)
    public_url = _public_url(get, mode, host, port, problems)
    allowed_urls = _allowed_service_urls(get, problems)
    metadata_url = get("BOT_OPENID_METADATA_URL") or None
    data_dir = Path(get("BOT_DATA_DIR") or "data").resolve()
    keys, local_key_file = _encryption_keys(get, mode, data_dir, problems)
    graph = _graph_settings(get, mode, app_id, app_type, problems)
    database_url = _database_url(get, problems)
    school_path = school_config_path(get("SCHOOL_CONFIG"))
    directory_path = Path(get("LOCAL_DIRECTORY") or DEFAULT_LOCAL_DIRECTORY)
    local_graph_url = _local_graph_url(get, mode, problems)
    school = _school(school_path, problems)
    monitoring_secrets = _monitoring_secrets(get, school, problems)
    handoff_secret = (
        None if school is None else _handoff_webhook_secret(school, mode, get, problems)
    )

    if problems or school is None:
        raise ConfigError(problems)
    return Settings(
        monitoring_secrets=monitoring_secrets,
        handoff_webhook_secret=handoff_secret,
        mode=mode,
        host=host,
        port=port,
        data_dir=data_dir,
        school=school,
        school_config_path=school_path,
        local_directory_path=directory_path,
        app_id=app_id,
        app_type=app_type,
        tenant_id=tenant_id,
        app_password=SecretStr(password),
        log_level=log_level,
        public_url=public_url.rstrip("/"),
        allowed_service_urls=allowed_urls,
        openid_metadata_url=metadata_url,
        encryption_keys=tuple(keys),
        database_url=database_url,
        local_graph_url=local_graph_url,
        local_key_file=local_key_file,
        **graph,
    )


def _mode(get: Getter, app_id: str, problems: list[str]) -> Mode:
    """``BOT_MODE``: production when an app id is set, else local."""
    raw_mode = get("BOT_MODE", Mode.PRODUCTION if app_id else Mode.LOCAL).lower()
    try:
        return Mode(raw_mode)
    except ValueError:
        problems.append(f"BOT_MODE: {raw_mode!r} is not 'local' or 'production'")
        return Mode.PRODUCTION


def _app_identity(
    get: Getter, mode: Mode, app_id: str, tenant_id: str, password: str, problems: list[str]
) -> AppType | None:
    """The Azure Bot's identity (app id, tenant, type and password): none in local mode."""
    if mode is Mode.LOCAL:
        if app_id:
            problems.append(
                "MicrosoftAppId: local mode turns inbound authentication off, so it cannot run "
                "with an app id; unset MicrosoftAppId or set BOT_MODE=production"
            )
        return None
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
    return app_type


def _port(get: Getter, problems: list[str]) -> int:
    """``PORT`` (default 3978)."""
    raw_port = get("PORT", "3978")
    if raw_port.isdigit() and 0 < int(raw_port) < 65536:
        return int(raw_port)
    problems.append(f"PORT: {raw_port!r} is not a port number (1-65535)")
    return 3978


def _host(get: Getter, mode: Mode, problems: list[str]) -> str:
    """``HOST``: loopback only in local mode (it has no authentication)."""
    host = get("HOST", LOOPBACK if mode is Mode.LOCAL else "0.0.0.0")  # noqa: S104 (behind Azure)
    if mode is Mode.LOCAL:
        try:
            if not ipaddress.ip_address(host).is_loopback:
                problems.append(
                    f"HOST: local mode has no authentication, so it binds loopback only, not {host}"
                )
        except ValueError:
            problems.append(f"HOST: {host!r} must be a loopback IP address in local mode")
    return host


def _log_level(get: Getter, problems: list[str]) -> str:
    """``LOG_LEVEL`` (default INFO)."""
    log_level = get("LOG_LEVEL", "INFO").upper()
    if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
        problems.append(f"LOG_LEVEL: {log_level!r} is not DEBUG, INFO, WARNING or ERROR")
    return log_level


def _public_url(get: Getter, mode: Mode, host: str, port: int, problems: list[str]) -> str:
    """``PUBLIC_BASE_URL``: https outside local mode (download links)."""
    public_url = get("PUBLIC_BASE_URL") or f"http://{host}:{port}"
    if mode is Mode.PRODUCTION and not public_url.startswith("https://"):
        problems.append(
            "PUBLIC_BASE_URL: required outside local mode, the https address of this service "
            "(the host of the messaging endpoint), for download links"
        )
    return public_url


def _allowed_service_urls(get: Getter, problems: list[str]) -> tuple[str, ...]:
    """``ALLOWED_SERVICE_URLS``: https prefixes (or loopback), each ending in /."""
    allowed_urls = tuple(
        u.strip()
        for u in get("ALLOWED_SERVICE_URLS", "https://smba.trafficmanager.net/").split(",")
        if u.strip()
    )
    for url in allowed_urls:
        if not url.startswith(
            ("https://", "http://127.0.0.1", "http://localhost")
        ) or not url.endswith("/"):
            problems.append(f"ALLOWED_SERVICE_URLS: {url!r} must be an https:// prefix ending in /")
    return allowed_urls


def _encryption_keys(
    get: Getter, mode: Mode, data_dir: Path, problems: list[str]
) -> tuple[list[SecretStr], Path | None]:
    """The keys for records at rest (the first seals, all open) and, in local mode with the
    embedded store and no key configured, the key file beside the data folder."""
    key_texts = [get("BOT_ENCRYPTION_KEY")] + [
        k for k in get("BOT_ENCRYPTION_OLD_KEYS").split(",") if k.strip()
    ]
    key_file = get("BOT_ENCRYPTION_KEY_FILE")
    if key_file and not key_texts[0]:
        try:
            lines = Path(key_file).read_text(encoding="ascii").split()
            key_texts = lines + key_texts[1:] if lines else key_texts
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(
                f"BOT_ENCRYPTION_KEY_FILE: cannot read {key_file} ({exc.__class__.__name__})"
            )
    local_key_file: Path | None = None
    if mode is Mode.LOCAL and not key_texts[0] and not key_file and not get("DATABASE_URL"):
        local_key_file = local_key_path(data_dir)
        key_texts = read_local_key(local_key_file, problems) + key_texts[1:]
    keys: list[SecretStr] = []
    if key_texts[0]:
        for number, text in enumerate(key_texts):
            try:
                parse_key(text)
                keys.append(SecretStr(text.strip()))
            except ValueError as exc:
                which = (
                    f"BOT_ENCRYPTION_OLD_KEYS #{number}"
                    if number
                    else str(local_key_file)
                    if local_key_file
                    else "BOT_ENCRYPTION_KEY"
                )
                problems.append(f"{which}: {exc}")
    elif mode is Mode.PRODUCTION:
        problems.append(
            "BOT_ENCRYPTION_KEY: required outside local mode (records at rest are encrypted); "
            "make one with: python -m ops rotate-key --new-key"
        )
    return keys, local_key_file


def _database_url(get: Getter, problems: list[str]) -> SecretStr | None:
    """``DATABASE_URL``: PostgreSQL, or unset for the embedded store (never quoted: it may
    hold the database password)."""
    raw_database_url = get("DATABASE_URL")
    if not raw_database_url:
        return None
    if not raw_database_url.startswith(("postgresql://", "postgres://")):
        problems.append(
            "DATABASE_URL: must be a PostgreSQL URL (postgresql://user@host:5432/database); "
            "leave it unset for the embedded store in BOT_DATA_DIR"
        )
        return None
    return SecretStr(raw_database_url)


def _local_graph_url(get: Getter, mode: Mode, problems: list[str]) -> str | None:
    """``LOCAL_GRAPH_URL``: local mode only, a loopback stand-in for Graph."""
    local_graph_url = get("LOCAL_GRAPH_URL") or None
    if local_graph_url is not None:
        graph_host = urlsplit(local_graph_url).hostname or ""
        if mode is not Mode.LOCAL:
            problems.append("LOCAL_GRAPH_URL: only for local mode (production uses Graph)")
        elif graph_host != "localhost" and not _is_loopback(graph_host):
            problems.append(
                "LOCAL_GRAPH_URL: must be a loopback URL, such as http://127.0.0.1:3979/v1.0"
            )
    return local_graph_url


def _school(path: Path, problems: list[str]) -> SchoolPolicy | None:
    """The school's policy file, or None (its problems added)."""
    try:
        return load_school_policy(path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None


#: The shortest monitoring secret accepted (HMAC-SHA256 wants at least 32 bytes of key).
MIN_MONITORING_SECRET = 32


def _monitoring_secrets(
    get: Callable[..., str], school: SchoolPolicy | None, problems: list[str]
) -> dict[str, SecretStr]:
    """Each configured monitoring provider's secret from the variable its entry names. A
    provider without one cannot send (its alerts are refused, and start-up says so)."""
    secrets: dict[str, SecretStr] = {}
    for provider in school.monitoring.providers if school is not None else ():
        value = get(provider.secret_env)
        if len(value) >= MIN_MONITORING_SECRET:
            secrets[provider.id] = SecretStr(value)
        elif value:  # never quote the value
            problems.append(
                f"{provider.secret_env}: the secret for monitoring provider {provider.id!r} must "
                f"be at least {MIN_MONITORING_SECRET} characters"
            )
    return secrets


def _handoff_webhook_secret(
    school: SchoolPolicy, mode: Mode, get: Callable[[str], str], problems: list[str]
) -> SecretStr | None:
    """The hand-off webhook's secret, when the school file sets a webhook (issue 20). Refused
    at start-up: a missing, short or placeholder secret, and a webhook that is not HTTPS
    (plain HTTP only to loopback, in local mode). The secret is never quoted."""
    handoff = school.handoff
    if not handoff.webhook:
        return None
    url = handoff.webhook_url.strip()
    host = urlsplit(url).hostname or ""
    if not url.startswith("https://"):
        if mode is not Mode.LOCAL:
            problems.append(
                "handoff.webhook_url: must be an https:// address outside local mode (the "
                "hand-off holds names and the details of a concern)"
            )
        elif host != "localhost" and not _is_loopback(host):
            problems.append(
                "handoff.webhook_url: plain http:// only to a loopback address in local mode; "
                "use https://"
            )
    name = handoff.webhook_secret_env
    problem = secret_problem(get(name))
    if problem is not None:
        problems.append(
            f"{name}: {problem} (the hand-off webhook's secret; handoff.webhook_secret_env in "
            "the school file names this variable)"
        )
        return None
    return SecretStr(get(name))


def local_key_path(data_dir: Path) -> Path:
    """Where local mode keeps the key for ``data_dir``: beside it, never inside it (so a copy of
    the data folder does not carry its key): ``data.key`` for ``data/``."""
    return data_dir.with_name(f"{data_dir.name}.key")


def read_local_key(path: Path, problems: list[str]) -> list[str]:
    """The key in local mode's key file (``[""]`` when there is none yet); a file that cannot
    be read is added to ``problems``."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return [""]
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read the local encryption key ({exc.__class__.__name__})")
        return [""]
    if not text:
        problems.append(f"{path}: the local encryption key file is empty")
    return [text]


def _graph_settings(
    get: Callable[..., str],
    mode: Mode,
    app_id: str,
    app_type: AppType | None,
    problems: list[str],
) -> dict[str, Any]:
    """The Microsoft Graph settings (see ``Settings``); problems are added to ``problems``."""
    default_source = DirectorySource.FILE if mode is Mode.LOCAL else DirectorySource.GRAPH
    raw_source = get("DIRECTORY", default_source).lower()
    source = default_source
    try:
        source = DirectorySource(raw_source)
    except ValueError:
        problems.append(f"DIRECTORY: {raw_source!r} is not 'graph' or 'file'")
    if mode is Mode.LOCAL and source is DirectorySource.GRAPH:
        problems.append("DIRECTORY: local mode has no app identity, so it cannot use Graph")
    certificate: Path | None = None
    if raw_certificate := get("GRAPH_CERTIFICATE_PATH"):
        certificate = Path(raw_certificate)
        if app_type is AppType.USER_ASSIGNED_MSI:
            problems.append(
                "GRAPH_CERTIFICATE_PATH: a managed identity (UserAssignedMSI) uses no "
                "certificate; unset it"
            )
        elif not certificate.is_file():
            problems.append(f"GRAPH_CERTIFICATE_PATH: {certificate} is not a file")
    teams_app_id = get("TEAMS_APP_ID") or app_id
    if teams_app_id and not _is_guid(teams_app_id):
        problems.append(f"TEAMS_APP_ID: {teams_app_id!r} is not a GUID")
    catalog_id = get("TEAMS_APP_CATALOG_ID")
    if catalog_id and not _is_guid(catalog_id):
        problems.append(f"TEAMS_APP_CATALOG_ID: {catalog_id!r} is not a GUID")
    raw_cache = get("DIRECTORY_CACHE_SECONDS", "600")
    cache = 600
    if raw_cache.isdigit() and 0 <= int(raw_cache) <= 86400:
        cache = int(raw_cache)
    else:
        problems.append(f"DIRECTORY_CACHE_SECONDS: {raw_cache!r} is not 0-86400 seconds")
    raw_degraded = get("OUTBOX_DEGRADED_AFTER_SECONDS", "900")
    degraded = 900
    if raw_degraded.isdigit() and 1 <= int(raw_degraded) <= 604800:
        degraded = int(raw_degraded)
    else:
        problems.append(f"OUTBOX_DEGRADED_AFTER_SECONDS: {raw_degraded!r} is not 1-604800 seconds")
    domains = tuple(
        d.strip().lower().lstrip("@") for d in get("SCHOOL_MAIL_DOMAINS").split(",") if d.strip()
    )
    for domain in domains:
        if "." not in domain or "/" in domain or " " in domain:
            problems.append(f"SCHOOL_MAIL_DOMAINS: {domain!r} is not a mail domain")
    return {
        "directory_source": source,
        "graph_certificate_path": certificate,
        "teams_app_id": teams_app_id.lower(),
        "teams_app_catalog_id": catalog_id.lower(),
        "directory_cache_seconds": cache,
        "school_mail_domains": domains,
        "outbox_degraded_after_seconds": degraded,
    }


def describe(settings: Settings) -> dict[str, Any]:
    """A loggable summary: no secrets."""
    return {
        "mode": settings.mode.value,
        "host": settings.host,
        "port": settings.port,
        "data_dir": str(settings.data_dir),
        "store": "postgresql" if settings.database_url is not None else "tinydb",
        "school": settings.school.name,
        "app_id": settings.app_id or None,
        "app_type": settings.app_type.value if settings.app_type else None,
    }


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
