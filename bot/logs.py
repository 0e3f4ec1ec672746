"""Logging: JSON lines with a correlation id, and nothing a child or a DSL would mind reading.

The product logs ids and references only (never concern text, names, URLs of reports or
tokens). Third-party SDKs would log more at DEBUG (msrest logs whole request bodies, i.e. the
cards with names in them), so their loggers are held at WARNING whatever the level asked for,
and a last-resort filter blanks anything that looks like a bearer token.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

#: The id that ties together every log line of one request (the Teams activity id).
correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

#: SDK loggers that would print request and response bodies at DEBUG.
QUIET = (
    "msrest",
    "botbuilder",
    "botframework",
    "urllib3",
    "requests_oauthlib",
    "azure",
    "httpx",
    "httpcore",
    "msal",
    "kiota_http",
    "msgraph",
)
_OURS = "online-safety-bot"
_TOKEN = re.compile(r"(?i)(bearer\s+)[a-z0-9._~+/=-]{8,}")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, correlation id."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if cid := correlation_id.get():
            entry["correlation_id"] = cid
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__  # the kind only: messages can quote input
        return json.dumps(entry, ensure_ascii=False)


class ScrubTokens(logging.Filter):
    """Blank anything that looks like a bearer token, wherever it came from."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg = _TOKEN.sub(r"\1[redacted]", message)
            record.args = ()
        return True


def configure(level: str = "INFO", *, fmt: str = "json", file: str | None = None) -> None:
    """Set up logging for the process (called once, by ``python -m bot``)."""
    handler: logging.Handler
    if file:
        path = Path(file)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)  # 0600 like the store
        os.close(fd)
        handler = logging.FileHandler(path, encoding="utf-8")
    else:
        handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(ScrubTokens())
    handler.set_name(_OURS)
    root = logging.getLogger()
    for old in root.handlers:
        if old.get_name() == _OURS:
            old.close()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_sdks()


def quiet_sdks() -> None:
    """Hold the SDKs' own loggers at WARNING (their DEBUG output carries message bodies)."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
