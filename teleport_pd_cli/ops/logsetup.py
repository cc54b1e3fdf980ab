"""Logging for tpd: one line per event, as text or JSON, with stable fields and no secrets.

Code logs through `logging.getLogger(__name__)` and passes context as `extra` fields with the
stable names in `FIELDS` (`request_id`, `pd_incident_id`, ...); `bind()` returns a logger that
adds fields to every line. `setup_logging()` installs one handler on the root logger:

    text: 2024-05-01T12:00:00.123Z INFO  [teleport_pd_cli.daemon] Successfully created PagerDuty
          incident pd_incident_id=P1 pd_service_name="Teleport Notifications" request_id=3f...
    json: {"time": "2024-05-01T12:00:00.123Z", "level": "INFO", "logger": "teleport_pd_cli.daemon",
           "msg": "Successfully created PagerDuty incident", "pd_incident_id": "P1", ...}

(each on one line). Nothing should ever log a secret; as a last line of defence the handler's
`RedactingFilter` replaces the configured secrets, `Token token=...` credentials and PEM private
keys in messages, fields and tracebacks with `[REDACTED]`.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from teleport_pd_cli._exceptions import ConfigError
from teleport_pd_cli._logfields import FIELDS, FieldsAdapter, bind
from teleport_pd_cli.config._settings import TRACE, normalize_log_output, severity_level

__all__ = [
    "FIELDS",
    "REDACTED",
    "TRACE",
    "FieldsAdapter",
    "JSONFormatter",
    "RedactingFilter",
    "TextFormatter",
    "bind",
    "setup_logging",
]

REDACTED = "[REDACTED]"

#: Secrets shorter than this are not searched for: they would redact ordinary words.
_MIN_SECRET_LENGTH = 6
#: Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys() | {"message", "asctime", "taskName"}
)
#: Libraries too chatty below WARNING unless the operator asked for trace.
_CHATTY_LOGGERS = ("httpx", "httpcore", "hpack", "h2", "grpc")

_ALWAYS_REDACTED: tuple[tuple[re.Pattern[str], str], ...] = (
    # PagerDuty's Authorization header value ("Token token=..."), wherever it ends up.
    (re.compile(r"(?i)(token\s+token=)[^\s\"',}]+"), rf"\1{REDACTED}"),
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"), rf"\1{REDACTED}"),
    # A private key in PEM form, complete or cut off.
    (
        re.compile(
            r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)", re.S
        ),
        REDACTED,
    ),
)


class RedactingFilter(logging.Filter):
    """Replace secrets in a record's message, fields, traceback and stack before formatting."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(
            sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)
        )

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in _ALWAYS_REDACTED:
            text = pattern.sub(replacement, text)
        return text

    def _value(self, value: object) -> object:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list | tuple):
            return type(value)(self._value(item) for item in value)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                setattr(record, name, self._value(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's `extra` fields, sorted by name; None values are left out."""
    found = {
        name: value
        for name, value in vars(record).items()
        if name not in _RECORD_ATTRIBUTES and not name.startswith("_") and value is not None
    }
    return dict(sorted(found.items()))


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _level_name(record: logging.LogRecord) -> str:
    return "TRACE" if record.levelno <= TRACE else record.levelname


_BARE_VALUE = re.compile(r"[^\s\"=\\]+")


def _logfmt(value: object) -> str:
    if isinstance(value, list | tuple | set | frozenset):
        value = ",".join(str(item) for item in value)
    text = str(value)
    if _BARE_VALUE.fullmatch(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _exception_text(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    text = record.exc_text or ""
    if record.stack_info:
        text = f"{text}\n{record.stack_info}" if text else record.stack_info
    return text


class TextFormatter(logging.Formatter):
    """`<time> <LEVEL> [<logger>] <message> key=value ...` on one line; a traceback follows on
    the next lines, indented."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().replace("\r", "\\r").replace("\n", "\\n")
        parts = [f"{_timestamp(record)} {_level_name(record):<5} [{record.name}] {message}"]
        parts.extend(f"{name}={_logfmt(value)}" for name, value in _fields(record).items())
        line = " ".join(parts)
        details = _exception_text(self, record)
        if details:
            line += "\n" + "\n".join(f"    {row}" for row in details.splitlines())
        return line


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, msg, the fields, and `traceback`."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": _level_name(record),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, value in _fields(record).items():
            entry.setdefault(name, value)
        details = _exception_text(self, record)
        if details:
            entry["traceback"] = details
        return json.dumps(entry, ensure_ascii=False, default=str)


def _open(output: str, stream: TextIO | None) -> logging.Handler:
    if stream is not None:
        return logging.StreamHandler(stream)
    if output == "stderr":
        return logging.StreamHandler(sys.stderr)
    if output == "stdout":
        return logging.StreamHandler(sys.stdout)
    try:
        # Appends, and reopens the file when logrotate moves it away.
        return logging.handlers.WatchedFileHandler(output, mode="a", encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"[log] output: cannot open the log file {output}: {exc.strerror or exc}",
            key="log.output",
        ) from None


def setup_logging(
    output: str = "stderr",
    severity: str = "info",
    format: str = "text",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every log record at `severity` or above to `output`, formatted as `format`.

    `output` is "stderr", "stdout" or a file path (Go's aliases accepted); `stream`, if given,
    replaces it (tests). `secrets` are redacted from every line. Calling it again replaces the
    handler it installed before. Returns the handler. Raises ConfigError when the log file
    cannot be opened, ValueError for an unknown severity or format.
    """
    level = severity_level(severity)
    if format.lower() not in ("text", "json"):
        raise ValueError(f"unsupported log format: {format!r} (use text or json)")
    logging.addLevelName(TRACE, "TRACE")
    handler = _open(normalize_log_output(output), stream)
    handler.setFormatter(JSONFormatter() if format.lower() == "json" else TextFormatter())
    handler.addFilter(RedactingFilter(secrets))
    handler.set_name("tpd")
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == "tpd":
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET if level <= TRACE else logging.WARNING)
    return handler
