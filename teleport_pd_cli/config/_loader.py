"""Reading a config file: the Go plugin's `teleport-pagerduty.toml`, read unchanged, and more.

`load_config(path)` returns a validated, frozen `Config` and the warnings worth showing the
operator (unknown keys, deprecated spellings). Every failure is a `ConfigError` naming the file
and the key: `/etc/teleport-pagerduty.toml: [pagerduty] api_key: missing required value`.
`read_config_document` and `config_from_document` are its two halves (file to dict, dict to
`Config`), for callers that validate part of a file; `parse_config` starts from TOML text.

A load: the standard library parses the TOML (a syntax error names its line and column);
unknown keys and tables become warnings; every key is read through its spec (a non-empty
environment variable, else the file, else the default) and its TOML type checked; the API key
file is read (the Go plugin does that first); then table by table, the Go plugin's tables first
as it checks them, each value passes its field's converter and validator, the table's rules
between keys run (`_teleport_rules`, `_pagerduty_rules`), and required keys are checked.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import attrs

from teleport_access.where import compile_role_pattern
from teleport_pd_cli._email import is_exact_email
from teleport_pd_cli._exceptions import ConfigError
from teleport_pd_cli.config._fields import GO, KeySpec, Kind, TableSpec, parse_duration
from teleport_pd_cli.config._settings import (
    CONFIG_TABLES,
    PAGERDUTY_ENDPOINTS,
    TABLES,
    Config,
    key,
)

#: The Go plugin reads at most this many bytes of an API key file.
API_KEY_FILE_LIMIT = 2000


@attrs.frozen(kw_only=True)
class ConfigWarning:
    """Something the operator should fix that does not stop tpd (unknown key, deprecated key)."""

    path: str | None
    #: Dotted key ("pagerduty.apikey"), or the table name for an unknown table.
    key: str
    message: str

    def __str__(self) -> str:
        return self.message


def load_config(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> tuple[Config, list[ConfigWarning]]:
    """Read, validate and return the config at `path`, with its warnings.

    `environ` defaults to `os.environ`; pass a dict in tests. Raises ConfigError.
    """
    where = os.fspath(path)
    return config_from_document(read_config_document(where), path=where, environ=environ)


def read_config_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The TOML document at `path`, parsed but not validated. Raises ConfigError."""
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
    return _parse_toml(text, where)


def parse_config(
    text: str,
    *,
    path: str = "<config>",
    environ: Mapping[str, str] | None = None,
) -> tuple[Config, list[ConfigWarning]]:
    """Validate TOML `text` as if read from `path` (used in messages). Raises ConfigError."""
    return config_from_document(_parse_toml(text, path), path=path, environ=environ)


def config_from_document(
    document: Mapping[str, Any],
    *,
    path: str = "<config>",
    environ: Mapping[str, str] | None = None,
) -> tuple[Config, list[ConfigWarning]]:
    """Validate an already parsed TOML document as if read from `path`. Raises ConfigError."""
    load = _Load(path, document, os.environ if environ is None else environ)
    return load.run(), load.warnings


# -- TOML syntax ----------------------------------------------------------------------------------


def _parse_toml(text: str, path: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(text, path, str(exc)) from None


_POSITION = re.compile(r"\s*\((?:at line (\d+), column (\d+)|at end of document)\)$")
_DECLARED_TWICE = re.compile(r"Cannot declare \((.*)\) twice$")
_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
_KEY_DEFINITION = re.compile(rf"\s*({_KEY_PART}(?:\s*\.\s*{_KEY_PART})*)\s*=")
_QUOTED = re.compile(r"""'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)\"""")


def _syntax_error(text: str, path: str, described: str) -> ConfigError:
    """A TOML syntax error with its line and column (1-based); a key or table defined twice is
    named, at the start of its second definition."""
    message = described
    line: int | None = None
    column: int | None = None
    match = _POSITION.search(described)
    if match is not None:
        message = described[: match.start()]
        if match.group(1):
            line, column = int(match.group(1)), int(match.group(2))
        else:  # end of document
            lines = text.split("\n")
            line, column = len(lines), len(lines[-1]) + 1
    twice = _DECLARED_TWICE.match(message)
    if twice is not None:  # tomllib writes the table's name as a tuple of strings
        name = ".".join(a or b for a, b in _QUOTED.findall(twice.group(1)))
        message, column = f"duplicate table [{name}]", 1
    elif message == "Cannot overwrite a value" and line is not None:
        key = _KEY_DEFINITION.match(text.split("\n")[line - 1])
        if key is not None:
            message, column = f"duplicate key {key.group(1)!r}", 1
    message = message[:1].lower() + message[1:]
    where = f"{path}:{line}:{column}" if line is not None and column is not None else path
    return ConfigError(f"{where}: invalid TOML: {message}", path=path, line=line, column=column)


# -- validation -----------------------------------------------------------------------------------

#: What each kind of key must be in the file: in words, and as `_type_name` says it.
_TOML_TYPES: dict[Kind, tuple[str, str]] = {
    Kind.STRING: ("a string", "string"),
    Kind.PATH: ("a string (a file path)", "string"),
    Kind.BOOL: ("true or false", "boolean"),
    Kind.INT: ("an integer", "integer"),
    Kind.DURATION: ('a duration string such as "30s", "1m" or "1h30m"', "string"),
    Kind.STRING_LIST: ('a list of strings such as ["editor", "dev-*"]', "array"),
}
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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: A table's values by key name: as read (typed), and as they will build the settings.
_Values = dict[str, Any]


class _Load:
    """One load of one document; collects warnings and where each value came from."""

    def __init__(self, path: str, document: Mapping[str, Any], environ: Mapping[str, str]):
        self.path = path
        self.document = document
        self.environ = environ
        self.warnings: list[ConfigWarning] = []
        self.sources: dict[str, str] = {}
        #: How the file spells each table (for [pagerduty.RequestAnnotations] compatibility).
        self.spelling: dict[str, str] = {}

    def run(self) -> Config:
        self.check_unknown()
        raw = {table.name: self.read(table) for table in TABLES}
        # The Go plugin reads the API key file while loading, before any other check.
        self.read_secret_files(raw["pagerduty"])
        values: dict[str, _Values] = {}
        for table in sorted(TABLES, key=lambda table: table.origin != GO):
            values[table.name] = self.validate(table, raw[table.name])

        def build(table: TableSpec) -> Any:
            nested = {name: build(sub) for name, sub in table.subtables}
            return table.settings(**values[table.name], **nested)

        tables = {name: build(table) for name, table in CONFIG_TABLES}
        return Config(**tables, path=self.path, sources=dict(self.sources))

    # -- messages

    def label(self, spec: KeySpec) -> str:
        return f"[{self.spelling.get(spec.table, spec.table)}] {spec.name}"

    def error(self, spec: KeySpec, message: str) -> ConfigError:
        return ConfigError(
            f"{self.path}: {self.label(spec)}: {message}", path=self.path, key=spec.full_name
        )

    def table_error(self, table: TableSpec, message: str, *, key: str) -> ConfigError:
        return ConfigError(f"{self.path}: [{table.name}]: {message}", path=self.path, key=key)

    def warn(self, key: str, label: str, message: str) -> None:
        self.warnings.append(
            ConfigWarning(path=self.path, key=key, message=f"{self.path}: {label}: {message}")
        )

    def warn_key(self, spec: KeySpec, message: str) -> None:
        self.warn(spec.full_name, self.label(spec), message)

    # -- reading

    def find_table(self, spec: TableSpec) -> dict[str, Any]:
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

    def read(self, table: TableSpec) -> _Values:
        """Every key of `table`, typed: environment, then file, then default."""
        found = self.find_table(table)
        values: _Values = {}
        for spec in table.keys:
            if spec.env and self.environ.get(spec.env):
                self.sources[spec.full_name] = f"environment variable {spec.env}"
                values[spec.name] = self.environ[spec.env]
            elif spec.name in found:
                self.sources[spec.full_name] = "file"
                values[spec.name] = self.typed(spec, found[spec.name])
            else:
                values[spec.name] = spec.default
        return values

    def typed(self, spec: KeySpec, value: Any) -> Any:
        """`value` as the key's kind wants it (a tuple, a timedelta), or a ConfigError."""
        expected, toml_type = _TOML_TYPES[spec.kind]
        got = _type_name(value)
        if got != toml_type:
            raise self.error(spec, f"expected {expected}, got {got}")
        if spec.kind is Kind.STRING_LIST:
            if not all(isinstance(item, str) for item in value):
                raise self.error(spec, f"expected {expected}, got a list with non-string items")
            return tuple(value)
        if spec.kind is Kind.DURATION:
            try:
                return parse_duration(value)
            except ValueError as exc:
                raise self.error(
                    spec, f'{exc}; use a Go duration such as "30s", "1m" or "1h30m"'
                ) from None
        return value

    def read_secret_files(self, values: _Values) -> None:
        """Replace a secret starting with `/` (the API key, the OAuth client secret) with the
        first bytes of that file, trimmed."""
        for name, what in (("api_key", "API key"), ("oauth_client_secret", "OAuth client secret")):
            self.read_secret_file(values, key(f"pagerduty.{name}"), what)

    def read_secret_file(self, values: _Values, spec: KeySpec, what: str) -> None:
        name: str = values[spec.name]
        if not name.startswith("/"):
            return
        try:
            with open(name, "rb") as handle:
                head = handle.read(API_KEY_FILE_LIMIT)
                longer = bool(handle.read(1))
        except FileNotFoundError:
            raise self.error(
                spec, f"error reading the {what} from {name}: file not found"
            ) from None
        except OSError as exc:
            raise self.error(
                spec, f"error reading the {what} from {name}: {exc.strerror or exc}"
            ) from None
        try:
            secret = head.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise self.error(spec, f"the {what} file {name} is not text") from None
        if not secret:
            raise self.error(spec, f"the {what} file {name} is empty")
        if longer:
            self.warn_key(spec, f"only the first {API_KEY_FILE_LIMIT} bytes of {name} are used")
        origin = self.sources.get(spec.full_name, "file")
        self.sources[spec.full_name] = f"{origin} (read from {name})"
        values[spec.name] = secret

    # -- checking

    def validate(self, table: TableSpec, raw: _Values) -> _Values:
        """Each value through its field's converter and validator, then the table's rules."""
        fields = attrs.fields_dict(table.settings)
        values: _Values = {}
        for spec in table.keys:
            field = fields[spec.name]
            convert = cast("Callable[[Any], Any] | None", field.converter)
            value = raw[spec.name]
            try:
                if convert is not None:
                    value = convert(value)
                if field.validator is not None:
                    field.validator(None, field, value)
            except ValueError as exc:
                raise self.error(spec, str(exc)) from None
            values[spec.name] = value
        _RULES.get(table.name, _no_rules)(self, table, raw, values)
        for spec in table.keys:
            if spec.required and not values[spec.name]:
                raise self.error(
                    spec,
                    "missing required value (set it here or in the "
                    f"{spec.env} environment variable)",
                )
        return values

    def check_unknown(self) -> None:
        shape: dict[str, Any] = {}
        for table in TABLES:
            node = shape
            for segment in table.path[:-1]:
                node = node.setdefault(segment, {})
            keys = {key.name: None for key in table.keys}
            for name in (table.path[-1], *table.aliases):
                node.setdefault(name, {}).update(keys)
        self._walk(self.document, shape, ())

    def _walk(
        self, found: Mapping[str, Any], shape: dict[str, Any], trail: tuple[str, ...]
    ) -> None:
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


# -- rules between the keys of one table, in the Go plugin's order -------------------------------


def _teleport_rules(load: _Load, table: TableSpec, raw: _Values, values: _Values) -> None:
    addr, auth_server = raw["addr"], raw["auth_server"]
    if auth_server:
        note = "" if not addr else " (ignored, because `addr` is set)"
        load.warn_key(
            table.key("auth_server"),
            "Configuration setting `auth_server` is deprecated, consider to change it to "
            f"`addr`{note}",
        )
    values["addr"] = addr or auth_server  # the field turns "" into localhost:3025
    tls_names = ("client_crt", "client_key", "root_cas")
    provided = [name for name in tls_names if raw[name]]
    if 0 < len(provided) < 3:
        missing = [name for name in tls_names if name not in provided]
        raise load.table_error(
            table,
            f"configuration setting(s) {', '.join(f'`{name}`' for name in provided)} are "
            f"provided but setting(s) {', '.join(f'`{name}`' for name in missing)} are missing",
            key=f"teleport.{missing[0]}",
        )
    if raw["identity"] and provided:
        raise load.error(
            table.key("identity"),
            "configuration setting `identity` is mutually exclusive with all the "
            "`client_crt`, `client_key` and `root_cas` settings",
        )
    if values["refresh_identity"] and not raw["identity"]:
        raise load.error(
            table.key("refresh_identity"), "`refresh_identity` requires that `identity` be set"
        )


#: The keys of Scoped OAuth, all required when one is set.
_OAUTH_KEYS = ("oauth_client_id", "oauth_client_secret", "account_subdomain")


def _credentials_rules(load: _Load, table: TableSpec, values: _Values) -> bool:
    """Exactly one kind of credentials: the API key, or the three OAuth keys. True for OAuth."""
    oauth = [name for name in _OAUTH_KEYS if values[name]]
    if values["api_key"] and oauth:
        raise load.table_error(
            table,
            "set either `api_key` or the OAuth keys (`oauth_client_id`, `oauth_client_secret`, "
            f"`account_subdomain`), not both; found `api_key` and `{'`, `'.join(oauth)}`",
            key="pagerduty.api_key",
        )
    if not oauth:
        if not values["api_key"]:
            spec = table.key("api_key")
            raise load.error(
                spec,
                "missing required value (set it here or in the TPD_PAGERDUTY_API_KEY "
                "environment variable; or, for Scoped OAuth instead, set `oauth_client_id`, "
                "`oauth_client_secret` and `account_subdomain`)",
            )
        return False
    missing = [name for name in _OAUTH_KEYS if not values[name]]
    if missing:
        raise load.error(
            table.key(missing[0]),
            "missing required value: Scoped OAuth needs `oauth_client_id`, "
            f"`oauth_client_secret` and `account_subdomain` (missing: {', '.join(missing)})",
        )
    parsed = urllib.parse.urlsplit(values["oauth_token_url"])
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname or ""):
        raise load.error(
            table.key("oauth_token_url"),
            f"{values['oauth_token_url']!r} is plain http: the client secret would cross the "
            "network unencrypted (only a loopback host may use http)",
        )
    return True


def _pagerduty_rules(load: _Load, table: TableSpec, raw: _Values, values: _Values) -> None:
    oauth = _credentials_rules(load, table, values)
    region, given = values["region"], raw["api_endpoint"].rstrip("/")
    if region and not given:  # without either, the field's default is the US endpoint
        values["api_endpoint"] = PAGERDUTY_ENDPOINTS[region]
    elif region and given != PAGERDUTY_ENDPOINTS[region] and not oauth:
        # (With OAuth, `region` also names the account's region, so both may be set: then
        # `api_endpoint` is only the host to send the calls to.)
        raise load.table_error(
            table,
            f"`region` {region!r} and `api_endpoint` {given!r} disagree; set only one of them",
            key="pagerduty.api_endpoint",
        )
    elif given:
        parsed = urllib.parse.urlsplit(given)
        if parsed.scheme == "http" and not _is_loopback(parsed.hostname or ""):
            load.warn_key(
                table.key("api_endpoint"),
                f"{given!r} is plain http: the credentials would cross the network unencrypted",
            )
    email = values["user_email"]
    if email and not is_exact_email(email):
        load.warn_key(
            table.key("user_email"),
            f"{email!r} does not look like an email address; "
            "PagerDuty refuses writes whose From header is not a user's email",
        )


def _auto_approval_rules(load: _Load, table: TableSpec, raw: _Values, values: _Values) -> None:
    # approve_roles means whole-name matches (documented); say where Teleport would read a
    # pattern otherwise, so an operator who copied a pattern from a role is not surprised.
    for pattern in values["approve_roles"]:
        difference = compile_role_pattern(pattern).difference
        if difference:
            load.warn_key(table.key("approve_roles"), f"pattern {pattern!r}: {difference}")


def _no_rules(load: _Load, table: TableSpec, raw: _Values, values: _Values) -> None:
    pass


_RULES: dict[str, Callable[[_Load, TableSpec, _Values, _Values], None]] = {
    "teleport": _teleport_rules,
    "pagerduty": _pagerduty_rules,
    "pagerduty.auto_approval": _auto_approval_rules,
}
