"""The tpd configuration: the Go plugin's `teleport-pagerduty.toml`, read unchanged, and more.

`load_config(path)` returns a validated, frozen `Config` and the warnings worth showing the
operator (unknown keys, deprecated spellings). Validation follows the Go plugin's rules and order
(`[teleport]` credentials, then `[pagerduty]`, then `[log]`) and every failure is a `ConfigError`
naming the file and the key: `/etc/teleport-pagerduty.toml: [pagerduty] api_key: missing required
value`. Each key, its type, default and help text are declared once, in `_config_schema.py`.

Environment variables (`TPD_PAGERDUTY_API_KEY`, `TPD_PAGERDUTY_USER_EMAIL`, `TPD_TELEPORT_ADDR`,
`TPD_TELEPORT_IDENTITY`) override the file when set and non-empty.
"""

from __future__ import annotations

import difflib
import ipaddress
import logging
import os
import re
import tomllib
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeAlias

import attrs
import tomlkit
import tomlkit.exceptions

from teleport_pd_cli._email import is_exact_email
from teleport_pd_cli._exceptions import ConfigError
from teleport_pd_cli.config import _schema as schema

__all__ = [
    "API_KEY_FILE_LIMIT",
    "DEFAULT_CONFIG_PATH",
    "DEFAULT_TELEPORT_ADDR",
    "AutoApprovalSettings",
    "Config",
    "ConfigError",
    "ConfigWarning",
    "DaemonSettings",
    "LogSettings",
    "MetricsSettings",
    "PagerDutySettings",
    "RequestAnnotations",
    "TeleportSettings",
    "load_config",
    "normalize_log_output",
    "normalize_severity",
    "parse_config",
    "severity_level",
]

DEFAULT_CONFIG_PATH = schema.DEFAULT_CONFIG_PATH
DEFAULT_TELEPORT_ADDR = "localhost:3025"
#: The Go plugin reads at most this many bytes of an API key file.
API_KEY_FILE_LIMIT = 2000

Severity: TypeAlias = Literal["trace", "debug", "info", "warn", "error"]
LogFormat: TypeAlias = Literal["text", "json"]

#: Go's accepted severities (case-insensitive) and what each means.
_SEVERITIES: dict[str, Severity] = {
    "trace": "trace",
    "debug": "debug",
    "info": "info",
    "warn": "warn",
    "warning": "warn",
    "err": "error",
    "error": "error",
}
#: Python logging levels; TRACE sits below DEBUG, as in logrus.
TRACE = 5
_LEVELS: dict[Severity, int] = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
_STDERR_ALIASES = frozenset({"stderr", "error", "2", ""})
_STDOUT_ALIASES = frozenset({"stdout", "out", "1"})


def _default(full_name: str) -> Any:
    return schema.default(full_name)


def normalize_severity(value: str) -> Severity:
    """Go's severity spellings, in any case, to one canonical name. ValueError otherwise."""
    if value == "":
        return "info"
    try:
        return _SEVERITIES[value.lower()]
    except KeyError:
        raise ValueError(
            f"unsupported logger severity: {value!r} (use info, error, warn, debug or trace)"
        ) from None


def severity_level(severity: str) -> int:
    """The `logging` level of a severity name (any of Go's spellings)."""
    return _LEVELS[normalize_severity(severity)]


def normalize_log_output(value: str) -> str:
    """`stderr`, `stdout`, or the file path, resolving Go's aliases ("2", "out", ...)."""
    if value in _STDERR_ALIASES:
        return "stderr"
    if value in _STDOUT_ALIASES:
        return "stdout"
    return value


def _normalize_format(value: str) -> LogFormat:
    lowered = value.lower()
    if lowered in ("", "text"):
        return "text"
    if lowered == "json":
        return "json"
    raise ValueError(f"unsupported log format: {value!r} (use text or json)")


# -- settings -------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TeleportSettings:
    """`[teleport]`: the cluster address and the plugin's credentials."""

    #: Effective address: `addr`, else the deprecated `auth_server`, else localhost:3025.
    addr: str = DEFAULT_TELEPORT_ADDR
    identity: Path | None = None
    refresh_identity: bool = attrs.field(default=_default("teleport.refresh_identity"))
    refresh_identity_interval: timedelta = attrs.field(
        default=_default("teleport.refresh_identity_interval")
    )
    client_key: Path | None = None
    client_crt: Path | None = None
    root_cas: Path | None = None

    @property
    def credentials(self) -> Literal["identity", "tls"] | None:
        """Which kind of credentials is configured. None is allowed at load time, as in Go; the
        daemon then fails with "no credentials configured"."""
        if self.identity is not None:
            return "identity"
        if self.client_crt is not None:
            return "tls"
        return None


@attrs.frozen(kw_only=True)
class RequestAnnotations:
    """`[pagerduty.request_annotations]`: which request annotations drive paging and approval."""

    notify_service: str = _default("pagerduty.request_annotations.notify_service")
    services: str = _default("pagerduty.request_annotations.services")


def _string_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):  # a bare string would otherwise become one pattern per letter
        return (value,)
    return tuple(value)


def _role_pattern(pattern: str) -> re.Pattern[str]:
    """Teleport's role-condition matching: `^...$` is a regex, otherwise `*` is a wildcard.

    Raises ValueError for an empty pattern or an invalid regular expression.
    """
    if not pattern:
        raise ValueError("a role pattern must not be empty")
    if pattern.startswith("^") and pattern.endswith("$"):
        try:
            return re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))


@attrs.frozen(kw_only=True)
class AutoApprovalSettings:
    """`[pagerduty.auto_approval]`: limits on approving on-call responders' requests."""

    enabled: bool = _default("pagerduty.auto_approval.enabled")
    #: Highest escalation level (1 = first tier) whose on-call responders are approved; 0 = any.
    max_escalation_level: int = attrs.field(
        default=_default("pagerduty.auto_approval.max_escalation_level"),
        validator=attrs.validators.ge(0),
    )
    #: Patterns every requested role must match (see `roles_allowed`).
    approve_roles: tuple[str, ...] = attrs.field(
        default=_default("pagerduty.auto_approval.approve_roles"),
        converter=_string_tuple,
    )
    _compiled: tuple[re.Pattern[str], ...] = attrs.field(
        init=False, eq=False, repr=False, hash=False
    )

    # Compiling is also the validation: a bad pattern raises ValueError from __init__.
    @_compiled.default
    def _compile(self) -> tuple[re.Pattern[str], ...]:
        return tuple(_role_pattern(pattern) for pattern in self.approve_roles)

    def role_allowed(self, role: str) -> bool:
        return any(pattern.fullmatch(role) for pattern in self._compiled)

    def roles_allowed(self, roles: tuple[str, ...]) -> bool:
        """True when every role matches a pattern (vacuously true for no roles)."""
        return all(self.role_allowed(role) for role in roles)

    def level_allowed(self, level: int | None) -> bool:
        """Whether an on-call entry at `level` (None: PagerDuty did not say) may approve."""
        if self.max_escalation_level == 0:
            return True
        return level is not None and level <= self.max_escalation_level


@attrs.frozen(kw_only=True)
class PagerDutySettings:
    """`[pagerduty]`: the account, the bot user, and what annotations mean."""

    api_key: str = attrs.field(repr=False)
    user_email: str
    api_endpoint: str = schema.PAGERDUTY_ENDPOINTS["us"]
    #: Client-side pacing of PagerDuty calls; 0 means none.
    requests_per_minute: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    request_annotations: RequestAnnotations = attrs.field(factory=RequestAnnotations)
    auto_approval: AutoApprovalSettings = attrs.field(factory=AutoApprovalSettings)


@attrs.frozen(kw_only=True)
class LogSettings:
    """`[log]`."""

    #: "stderr", "stdout", or a file path (Go's aliases resolved).
    output: str = attrs.field(default=_default("log.output"), converter=normalize_log_output)
    severity: Severity = attrs.field(default=_default("log.severity"), converter=normalize_severity)
    format: LogFormat = attrs.field(default=_default("log.format"), converter=_normalize_format)

    @property
    def level(self) -> int:
        return _LEVELS[self.severity]


@attrs.frozen(kw_only=True)
class MetricsSettings:
    """`[metrics]`: the optional metrics listener; `listen` "" means disabled."""

    listen: str = _default("metrics.listen")

    @property
    def enabled(self) -> bool:
        return bool(self.listen)

    @property
    def host(self) -> str:
        return _split_host_port(self.listen)[0]

    @property
    def port(self) -> int:
        return _split_host_port(self.listen)[1]


def _positive(instance: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"{attribute.name} must be positive")


@attrs.frozen(kw_only=True)
class DaemonSettings:
    """`[tpd]`: tuning of `tpd run`."""

    handler_timeout: timedelta = attrs.field(
        default=_default("tpd.handler_timeout"), validator=_positive
    )
    max_concurrency: int = attrs.field(
        default=_default("tpd.max_concurrency"), validator=attrs.validators.ge(1)
    )
    lookup_cache_ttl: timedelta = attrs.field(
        default=_default("tpd.lookup_cache_ttl"), validator=_positive
    )
    shutdown_grace: timedelta = attrs.field(
        default=_default("tpd.shutdown_grace"), validator=_positive
    )


@attrs.frozen(kw_only=True)
class Config:
    """Everything `tpd run` needs, validated."""

    teleport: TeleportSettings = attrs.field(factory=TeleportSettings)
    pagerduty: PagerDutySettings
    log: LogSettings = attrs.field(factory=LogSettings)
    metrics: MetricsSettings = attrs.field(factory=MetricsSettings)
    daemon: DaemonSettings = attrs.field(factory=DaemonSettings)
    #: The file it was read from (None when built in code).
    path: str | None = None
    #: Where each non-default value came from, by dotted key: "file", "environment variable
    #: TPD_..." and, for an API key read from a file, "... (read from /path)".
    sources: Mapping[str, str] = attrs.field(factory=dict)

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in logs or output (for the log redactor)."""
        return (self.pagerduty.api_key,) if self.pagerduty.api_key else ()

    def with_severity(self, severity: str) -> Config:
        """A copy with another log severity (`tpd run -d` forces "debug")."""
        return attrs.evolve(self, log=attrs.evolve(self.log, severity=normalize_severity(severity)))


@attrs.frozen(kw_only=True)
class ConfigWarning:
    """Something the operator should fix that does not stop tpd (unknown key, deprecated key)."""

    path: str | None
    #: Dotted key ("pagerduty.apikey"), or the table name for an unknown table.
    key: str
    message: str

    def __str__(self) -> str:
        return self.message


# -- loading --------------------------------------------------------------------------------------


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> tuple[Config, list[ConfigWarning]]:
    """Read, validate and return the config at `path`, with its warnings.

    `environ` defaults to `os.environ`; pass a dict in tests. Raises ConfigError.
    """
    where = os.fspath(path)
    try:
        raw = Path(where).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{where}: config file not found", path=where) from None
    except IsADirectoryError:
        raise ConfigError(f"{where}: is a directory, not a config file", path=where) from None
    except PermissionError:
        raise ConfigError(
            f"{where}: permission denied reading the config file", path=where
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{where}: cannot read the config file: {exc.strerror or exc}", path=where
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{where}:{line}: the config file is not UTF-8 text", path=where, line=line
        ) from None
    return parse_config(text, path=where, environ=environ)


def parse_config(
    text: str,
    *,
    path: str = "<config>",
    environ: Mapping[str, str] | None = None,
) -> tuple[Config, list[ConfigWarning]]:
    """Validate TOML `text` as if read from `path` (used in messages). Raises ConfigError."""
    document = _parse_toml(text, path)
    loader = _Loader(path, document, os.environ if environ is None else environ)
    return loader.load(), loader.warnings


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as exc:
        raise _syntax_error(text, path, exc) from None
    unwrapped: dict[str, Any] = {str(name): value for name, value in document.unwrap().items()}
    return unwrapped


_TOMLLIB_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")


def _syntax_error(text: str, path: str, exc: Exception) -> ConfigError:
    """Describe a TOML syntax error with its line and column (1-based).

    tomlkit's messages are terse ("Unexpected character: '\\x00'" at end of file) and some carry
    no position, so the strict stdlib parser is asked to describe the same text.
    """
    message = str(exc)
    line: int | None = getattr(exc, "line", None)
    column: int | None = getattr(exc, "col", None)
    if column is not None:
        column += 1  # tomlkit counts columns from 0
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as strict:
        described = str(strict)
        match = _TOMLLIB_POSITION.search(described)
        if match is not None:
            message = described[: match.start()]
            if match.group(1):
                line, column = int(match.group(1)), int(match.group(2))
            else:  # end of document
                lines = text.split("\n")
                line, column = len(lines), len(lines[-1]) + 1
    else:
        message = re.sub(r" at line \d+ col \d+$", "", message)
    duplicate = re.match(r'Key "(.+)" already exists', str(exc))
    if duplicate is not None:
        name = duplicate.group(1)
        message = f"duplicate key {name!r}"
        found = _line_of_duplicate(text, name)
        if found is not None:
            line, column = found[0], 1
            if found[1]:
                message = f"duplicate table [{name}]"
    message = message[:1].lower() + message[1:]
    where = f"{path}:{line}:{column}" if line is not None and column is not None else path
    return ConfigError(f"{where}: invalid TOML: {message}", path=path, line=line, column=column)


def _line_of_duplicate(text: str, name: str) -> tuple[int, bool] | None:
    """The line of the second definition of a bare key or table, and whether it is a table
    (best effort: tomlkit does not say where)."""
    key = re.compile(rf"^\s*(?:{re.escape(name)}|\"{re.escape(name)}\")\s*=")
    header = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
    seen_key = 0
    seen_header = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if key.match(line):
            seen_key += 1
            if seen_key == 2:
                return number, False
        if header.match(line):
            seen_header += 1
            if seen_header == 2:
                return number, True
    return None


def _split_host_port(value: str) -> tuple[str, int]:
    """Split "host:port", "[v6]:port" or ":port". ValueError with the reason."""
    host, sep, port_text = value.rpartition(":")
    if not sep:
        raise ValueError(f"{value!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv6 address") from None
    elif ":" in host:
        raise ValueError(f"write an IPv6 address in brackets: [{host}]:{port_text}")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"port {port_text!r} is not a number from 0 to 65535")
    return host, int(port_text)


_TOML_TYPE_NAMES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "float",
    list: "array",
    dict: "table",
}


def _type_name(value: object) -> str:
    for python_type, name in _TOML_TYPE_NAMES.items():
        if isinstance(value, python_type):
            return name
    return "date/time"


_MISSING: Any = object()


class _Loader:
    """One load: reads every key once, in schema order, then applies the Go checks in order."""

    def __init__(self, path: str, document: dict[str, Any], environ: Mapping[str, str]) -> None:
        self.path = path
        self.document = document
        self.environ = environ
        self.warnings: list[ConfigWarning] = []
        self.sources: dict[str, str] = {}
        #: How the file spells each table (for [pagerduty.RequestAnnotations] compatibility).
        self.spelling: dict[str, str] = {}

    # -- messages

    def _label(self, spec: schema.KeySpec) -> str:
        return f"[{self.spelling.get(spec.table, spec.table)}] {spec.name}"

    def error(self, spec: schema.KeySpec, message: str) -> ConfigError:
        return ConfigError(
            f"{self.path}: {self._label(spec)}: {message}", path=self.path, key=spec.full_name
        )

    def warn(self, key: str, label: str, message: str) -> None:
        self.warnings.append(
            ConfigWarning(path=self.path, key=key, message=f"{self.path}: {label}: {message}")
        )

    # -- reading

    def table(self, spec: schema.TableSpec) -> dict[str, Any]:
        """The file's table for `spec`, or {} when absent."""
        current: Any = self.document
        trail: list[str] = []
        for segment in spec.path:
            if not isinstance(current, dict):
                return {}
            names = [segment, *spec.aliases] if segment == spec.path[-1] else [segment]
            present = [name for name in names if name in current]
            if not present:
                return {}
            if len(present) > 1:
                tables = " and ".join(f"[{'.'.join([*trail, name])}]" for name in present)
                raise ConfigError(
                    f"{self.path}: both {tables} are given; keep one",
                    path=self.path,
                    key=spec.name,
                )
            trail.append(present[0])
            current = current[present[0]]
            if not isinstance(current, dict):
                raise ConfigError(
                    f"{self.path}: [{'.'.join(trail)}]: expected a table, "
                    f"got {_type_name(current)}",
                    path=self.path,
                    key=".".join(trail),
                )
        self.spelling[spec.name] = ".".join(trail)
        found: dict[str, Any] = current
        return found

    def read(self, spec: schema.KeySpec, table: dict[str, Any]) -> Any:
        """The typed value of one key: environment, then file, then default."""
        if spec.env and self.environ.get(spec.env):
            self.sources[spec.full_name] = f"environment variable {spec.env}"
            return self.environ[spec.env]
        if spec.name not in table:
            return spec.default
        value = table[spec.name]
        self.sources[spec.full_name] = "file"
        return self._typed(spec, value)

    def _typed(self, spec: schema.KeySpec, value: Any) -> Any:
        expected = {
            schema.Kind.STRING: "a string",
            schema.Kind.PATH: "a string (a file path)",
            schema.Kind.BOOL: "true or false",
            schema.Kind.INT: "an integer",
            schema.Kind.DURATION: 'a duration string such as "30s", "1m" or "1h30m"',
            schema.Kind.STRING_LIST: 'a list of strings such as ["editor", "dev-*"]',
        }[spec.kind]
        got = _type_name(value)
        if spec.kind in (schema.Kind.STRING, schema.Kind.PATH):
            ok = isinstance(value, str)
        elif spec.kind is schema.Kind.BOOL:
            ok = isinstance(value, bool)
        elif spec.kind is schema.Kind.INT:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif spec.kind is schema.Kind.DURATION:
            ok = isinstance(value, str)
            if ok:
                try:
                    return schema.parse_duration(value)
                except ValueError as exc:
                    raise self.error(
                        spec, f'{exc}; use a Go duration such as "30s", "1m" or "1h30m"'
                    ) from None
        else:
            ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
            if isinstance(value, list) and not ok:
                got = "a list with non-string items"
            if ok:
                return tuple(value)
        if not ok:
            raise self.error(spec, f"expected {expected}, got {got}")
        return value

    # -- unknown keys

    def check_unknown(self) -> None:
        shape: dict[str, Any] = {}
        for table_spec in schema.TABLES:
            node = shape
            for segment in table_spec.path[:-1]:
                node = node.setdefault(segment, {})
            keys = {key.name: None for key in table_spec.keys}
            for name in (table_spec.path[-1], *table_spec.aliases):
                node.setdefault(name, {}).update(keys)
        self._walk(self.document, shape, ())

    def _walk(self, found: dict[str, Any], shape: dict[str, Any], trail: tuple[str, ...]) -> None:
        for name, value in found.items():
            if name in shape:
                if isinstance(shape[name], dict) and isinstance(value, dict):
                    self._walk(value, shape[name], (*trail, name))
                continue
            key = ".".join((*trail, name))
            suggestion = difflib.get_close_matches(name, list(shape), n=1)
            hint = f" (did you mean {suggestion[0]}?)" if suggestion else ""
            if isinstance(value, dict):
                self.warn(key, f"[{key}]", f"unknown table, ignored{hint}")
            elif trail:
                self.warn(key, f"[{'.'.join(trail)}] {name}", f"unknown key, ignored{hint}")
            else:
                self.warn(key, name, f"unknown top-level key, ignored{hint}")

    # -- the load

    def load(self) -> Config:
        self.check_unknown()
        values: dict[str, Any] = {}
        for table_spec in schema.TABLES:
            table = self.table(table_spec)
            for key_spec in table_spec.keys:
                values[key_spec.full_name] = self.read(key_spec, table)

        def spec(name: str) -> schema.KeySpec:
            return schema.key(name)

        # The Go plugin reads the API key file while loading, before any other check.
        api_key = self._api_key(spec("pagerduty.api_key"), values["pagerduty.api_key"])

        teleport = self._teleport(values, spec)
        api_endpoint = self._endpoint(values, spec)
        if not api_key:
            raise self.error(spec("pagerduty.api_key"), self._missing("pagerduty.api_key"))
        user_email = values["pagerduty.user_email"]
        if not user_email:
            raise self.error(spec("pagerduty.user_email"), self._missing("pagerduty.user_email"))
        if not is_exact_email(user_email):
            self.warn(
                "pagerduty.user_email",
                self._label(spec("pagerduty.user_email")),
                f"{user_email!r} does not look like an email address; "
                "PagerDuty refuses writes whose From header is not a user's email",
            )
        annotations = RequestAnnotations(
            notify_service=values["pagerduty.request_annotations.notify_service"]
            or _default("pagerduty.request_annotations.notify_service"),
            services=values["pagerduty.request_annotations.services"]
            or _default("pagerduty.request_annotations.services"),
        )
        log = LogSettings(
            output=values["log.output"],
            severity=self._convert(spec("log.severity"), normalize_severity, values),
            format=self._convert(spec("log.format"), _normalize_format, values),
        )
        auto_approval = self._auto_approval(values, spec)
        pacing = values["pagerduty.requests_per_minute"]
        if pacing < 0:
            raise self.error(
                spec("pagerduty.requests_per_minute"),
                f"must be 0 (no pacing) or a positive rate, got {pacing}",
            )
        metrics = self._metrics(values, spec)
        daemon = self._daemon(values, spec)
        return Config(
            teleport=teleport,
            pagerduty=PagerDutySettings(
                api_key=api_key,
                user_email=user_email,
                api_endpoint=api_endpoint,
                requests_per_minute=pacing,
                request_annotations=annotations,
                auto_approval=auto_approval,
            ),
            log=log,
            metrics=metrics,
            daemon=daemon,
            path=self.path,
            sources=dict(self.sources),
        )

    def _missing(self, name: str) -> str:
        env = schema.key(name).env
        return f"missing required value (set it here or in the {env} environment variable)"

    def _convert(
        self, spec: schema.KeySpec, convert: Callable[[str], Any], values: dict[str, Any]
    ) -> Any:
        try:
            return convert(values[spec.full_name])
        except ValueError as exc:
            raise self.error(spec, str(exc)) from None

    def _api_key(self, spec: schema.KeySpec, value: str) -> str:
        if not value.startswith("/"):
            return value
        try:
            with open(value, "rb") as handle:
                head = handle.read(API_KEY_FILE_LIMIT)
                longer = bool(handle.read(1))
        except FileNotFoundError:
            raise self.error(
                spec, f"error reading the API key from {value}: file not found"
            ) from None
        except OSError as exc:
            raise self.error(
                spec, f"error reading the API key from {value}: {exc.strerror or exc}"
            ) from None
        try:
            key = head.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise self.error(spec, f"the API key file {value} is not text") from None
        if not key:
            raise self.error(spec, f"the API key file {value} is empty")
        if longer:
            self.warn(
                spec.full_name,
                self._label(spec),
                f"only the first {API_KEY_FILE_LIMIT} bytes of {value} are used",
            )
        origin = self.sources.get(spec.full_name, "file")
        self.sources[spec.full_name] = f"{origin} (read from {value})"
        return key

    def _teleport(
        self, values: dict[str, Any], spec: Callable[[str], schema.KeySpec]
    ) -> TeleportSettings:
        addr = values["teleport.addr"]
        auth_server = values["teleport.auth_server"]
        if auth_server:
            note = "" if not addr else " (ignored, because `addr` is set)"
            self.warn(
                "teleport.auth_server",
                self._label(spec("teleport.auth_server")),
                "Configuration setting `auth_server` is deprecated, consider to change it to "
                f"`addr`{note}",
            )
        tls_names = ("client_crt", "client_key", "root_cas")
        provided = [name for name in tls_names if values[f"teleport.{name}"]]
        if 0 < len(provided) < 3:
            missing = [name for name in tls_names if name not in provided]
            raise ConfigError(
                f"{self.path}: [teleport]: configuration setting(s) "
                f"{', '.join(f'`{name}`' for name in provided)} are provided but setting(s) "
                f"{', '.join(f'`{name}`' for name in missing)} are missing",
                path=self.path,
                key=f"teleport.{missing[0]}",
            )
        identity = values["teleport.identity"]
        if identity and provided:
            raise self.error(
                spec("teleport.identity"),
                "configuration setting `identity` is mutually exclusive with all the "
                "`client_crt`, `client_key` and `root_cas` settings",
            )
        interval: timedelta = values["teleport.refresh_identity_interval"]
        if interval < timedelta(0):
            raise self.error(spec("teleport.refresh_identity_interval"), "must not be negative")
        if interval == timedelta(0):
            interval = _default("teleport.refresh_identity_interval")
        refresh = values["teleport.refresh_identity"]
        if refresh and not identity:
            raise self.error(
                spec("teleport.refresh_identity"),
                "`refresh_identity` requires that `identity` be set",
            )

        def path(name: str) -> Path | None:
            value = values[f"teleport.{name}"]
            return Path(value) if value else None

        return TeleportSettings(
            addr=addr or auth_server or DEFAULT_TELEPORT_ADDR,
            identity=path("identity"),
            refresh_identity=refresh,
            refresh_identity_interval=interval,
            client_key=path("client_key"),
            client_crt=path("client_crt"),
            root_cas=path("root_cas"),
        )

    def _endpoint(self, values: dict[str, Any], spec: Callable[[str], schema.KeySpec]) -> str:
        region_spec = spec("pagerduty.region")
        endpoint_spec = spec("pagerduty.api_endpoint")
        region = values["pagerduty.region"].lower()
        if region and region not in schema.PAGERDUTY_ENDPOINTS:
            raise self.error(
                region_spec,
                f"unknown region {values['pagerduty.region']!r} "
                f"(use {' or '.join(schema.PAGERDUTY_ENDPOINTS)})",
            )
        endpoint: str = values["pagerduty.api_endpoint"].rstrip("/")
        if not endpoint:
            return schema.PAGERDUTY_ENDPOINTS[region or "us"]
        if region and endpoint != schema.PAGERDUTY_ENDPOINTS[region]:
            raise ConfigError(
                f"{self.path}: [pagerduty]: `region` {region!r} and `api_endpoint` "
                f"{endpoint!r} disagree; set only one of them",
                path=self.path,
                key="pagerduty.api_endpoint",
            )
        parsed = urllib.parse.urlsplit(endpoint)
        if parsed.scheme not in ("https", "http") or not parsed.hostname:
            raise self.error(endpoint_spec, f"{endpoint!r} is not an http(s) URL")
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
            self.warn(
                endpoint_spec.full_name,
                self._label(endpoint_spec),
                f"{endpoint!r} is plain http: the API key would cross the network unencrypted",
            )
        return endpoint

    def _auto_approval(
        self, values: dict[str, Any], spec: Callable[[str], schema.KeySpec]
    ) -> AutoApprovalSettings:
        level_spec = spec("pagerduty.auto_approval.max_escalation_level")
        level = values[level_spec.full_name]
        if level < 0:
            raise self.error(level_spec, f"must be 0 (any level) or a level from 1 up, got {level}")
        roles_spec = spec("pagerduty.auto_approval.approve_roles")
        roles = values[roles_spec.full_name]
        if not roles:
            raise self.error(
                roles_spec,
                'must list at least one role pattern (["*"] allows every role); '
                "to stop approving, set enabled = false",
            )
        try:
            return AutoApprovalSettings(
                enabled=values["pagerduty.auto_approval.enabled"],
                max_escalation_level=level,
                approve_roles=roles,
            )
        except ValueError as exc:
            raise self.error(roles_spec, str(exc)) from None

    def _metrics(
        self, values: dict[str, Any], spec: Callable[[str], schema.KeySpec]
    ) -> MetricsSettings:
        listen = values["metrics.listen"]
        if listen:
            try:
                _split_host_port(listen)
            except ValueError as exc:
                raise self.error(spec("metrics.listen"), str(exc)) from None
        return MetricsSettings(listen=listen)

    def _daemon(
        self, values: dict[str, Any], spec: Callable[[str], schema.KeySpec]
    ) -> DaemonSettings:
        for name in ("handler_timeout", "lookup_cache_ttl", "shutdown_grace"):
            if values[f"tpd.{name}"] <= timedelta(0):
                raise self.error(
                    spec(f"tpd.{name}"),
                    f"must be positive, got {schema.format_duration(values[f'tpd.{name}'])}",
                )
        if values["tpd.max_concurrency"] < 1:
            raise self.error(
                spec("tpd.max_concurrency"),
                f"must be at least 1, got {values['tpd.max_concurrency']}",
            )
        return DaemonSettings(
            handler_timeout=values["tpd.handler_timeout"],
            max_concurrency=values["tpd.max_concurrency"],
            lookup_cache_ttl=values["tpd.lookup_cache_ttl"],
            shutdown_grace=values["tpd.shutdown_grace"],
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
