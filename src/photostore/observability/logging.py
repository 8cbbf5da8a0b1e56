"""JSON logs, one object per line, carrying the request id of the request being served.

Database errors are logged without the values they were about. SQLAlchemy's engines
hide statement parameters (``hide_parameters``), but PostgreSQL's own message quotes
values too: ``Key (email)=(ada@example.org) already exists`` in its detail, a whole row
(password hash included) in ``Failing row contains``, the refused text in ``invalid
input syntax``. A logged database error keeps its SQLSTATE, condition and the names of
the constraint, table and column, and the SQL text with its placeholders; the detail,
the quoted values and any parameter list are dropped.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
from sqlalchemy import exc as sa_exc

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)


_QUOTED = re.compile(r'"[^"]*"')
_PARAMETERS = re.compile(r"^\[parameters: .*$", re.MULTILINE)


def _chain(exc: BaseException | None) -> Iterator[BaseException]:
    """``exc`` and every exception it was raised from or during, each once."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def describe_database_error(error: psycopg.Error) -> str:
    """What may be logged of ``error``: no detail, no quoted value."""
    diag = error.diag
    primary = _QUOTED.sub('"…"', diag.message_primary or type(error).__name__)
    names = [
        f"{kind} {name}"
        for kind, name in (
            ("constraint", diag.constraint_name),
            ("table", diag.table_name),
            ("column", diag.column_name),
        )
        if name
    ]
    where = f" ({', '.join(names)})" if names else ""
    return f"SQLSTATE {error.sqlstate or '?'}: {primary}{where} [values hidden]"


def redact_database_errors(text: str, errors: list[BaseException]) -> str:
    """``text`` with the messages of the database errors among ``errors`` redacted."""
    for error in errors:
        if isinstance(error, psycopg.Error) and str(error):
            text = text.replace(str(error), describe_database_error(error))
    return _PARAMETERS.sub("[parameters hidden]", text)


def _database_errors(record: logging.LogRecord) -> list[BaseException]:
    found: list[BaseException] = []
    roots = [a for a in (record.args or ()) if isinstance(a, BaseException)]
    if record.exc_info and record.exc_info[1] is not None:
        roots.append(record.exc_info[1])
    for root in roots:
        for exc in _chain(root):
            if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
                found.append(exc.orig)
            if isinstance(exc, psycopg.Error):
                found.append(exc)
    return found


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        errors = _database_errors(record)
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact_database_errors(record.getMessage(), errors),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            text = self.formatException(record.exc_info)
            entry["exception"] = redact_database_errors(text, errors)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send every log record to stderr as JSON (called once by the CLI, not at import)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # exifread warns about every odd maker note of real camera files; what it can read is
    # still read, and the upload is not at fault, so keep only its errors.
    logging.getLogger("exifread").setLevel(logging.ERROR)
    # libvips warns once per bad row or tile of a damaged file (hundreds for one cut PNG);
    # media.decode logs one line per damaged image instead.
    logging.getLogger("pyvips").setLevel(logging.ERROR)
