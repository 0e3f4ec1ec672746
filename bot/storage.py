"""Opening the store for these settings: the one place that knows which store and which keys.

Without ``DATABASE_URL``: the embedded TinyDB store in ``BOT_DATA_DIR`` (one school, one
machine, one process: its lock file refuses a second one). With it: PostgreSQL, scoped to the
school's tenant, shared by as many instances as run (no lock file: several instances are the
point; the outbox and timers are claimed instead, see ``dialogs.outbox``).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bot.config import ConfigError, Settings, local_key_path, read_local_key
from dialogs.outbox import CLAIM_RULES
from graph.local_directory import LocalDirectory
from store.crypto import RecordCipher, parse_key
from store.tinydb_store import TinyDbStore

if TYPE_CHECKING:
    # psycopg (and its pool) is imported only when DATABASE_URL chooses PostgreSQL: a school
    # on the embedded store never loads it (issue 25, cold start).
    from store.postgres_store import PostgresStore


def cipher_for(settings: Settings) -> RecordCipher | None:
    """The record cipher for the configured keys (None when none is configured: local mode)."""
    if not settings.encryption_keys:
        return None
    return RecordCipher([parse_key(k.get_secret_value()) for k in settings.encryption_keys])


def with_data_dir(settings: Settings, data_dir: Path | None) -> Settings:
    """``settings`` with a command's ``--data-dir`` applied (the embedded store's folder).

    Raises:
        ConfigError: ``--data-dir`` was given while ``DATABASE_URL`` is set: the records are in
            PostgreSQL, and the folder would silently be ignored.
    """
    if data_dir is None:
        return settings
    if settings.database_url is not None:
        raise ConfigError(
            [
                "--data-dir: the records are in PostgreSQL (DATABASE_URL is set), not in a data "
                "folder; leave out --data-dir, or unset DATABASE_URL to read a data folder"
            ]
        )
    if settings.local_key_file is None:
        return replace(settings, data_dir=data_dir.resolve())
    # Local mode's key lives beside its data folder: the other folder's key, if it has one.
    folder = data_dir.resolve()
    key_file = local_key_path(folder)
    problems: list[str] = []
    text = read_local_key(key_file, problems)[0]
    if text:
        try:
            parse_key(text)
        except ValueError as exc:
            problems.append(f"{key_file}: {exc}")
    if problems:
        raise ConfigError(problems)
    keys = (SecretStr(text), *settings.encryption_keys[1:]) if text else ()
    return replace(settings, data_dir=folder, local_key_file=key_file, encryption_keys=keys)


def tenant_for(settings: Settings) -> str:
    """The school's tenant id, lower case: every PostgreSQL row is scoped by it.

    Production: ``MicrosoftAppTenantId``. Local mode: the demo school's tenant from the local
    directory file (the same tenant ``bot.services`` serves).

    Raises:
        DirectoryFileError: local mode, and the directory file is missing or wrong.
    """
    if settings.tenant_id:
        return settings.tenant_id.lower()
    local = LocalDirectory.load(settings.local_directory_path, settings.school.role_groups())
    return local.tenant_id.lower()


async def open_store(
    settings: Settings, *, read_only: bool = False, tenant: str | None = None
) -> TinyDbStore | PostgresStore:
    """The store for ``settings`` (read-only for reports while the bot runs).

    Args:
        settings: The process's settings; ``database_url`` chooses PostgreSQL.
        read_only: Refuse every write (reports and exports).
        tenant: The tenant to scope a PostgreSQL store to (default: ``tenant_for(settings)``).

    Raises:
        StoreLocked: the TinyDB folder is in use by another process.
        StoreCorrupted: the folder or database cannot be used (for PostgreSQL: not migrated,
            or migrated by newer code; run ``script/migrate``).
        StoreUnavailable: the database cannot be reached.
    """
    if settings.database_url is not None:
        from store.postgres_store import PostgresStore

        return await PostgresStore.open(
            settings.database_url.get_secret_value(),
            tenant=(tenant or tenant_for(settings)).lower(),
            cipher=cipher_for(settings),
            claim_rules=CLAIM_RULES,
            read_only=read_only,
        )
    return await TinyDbStore.open(
        settings.data_dir, read_only=read_only, cipher=cipher_for(settings)
    )
