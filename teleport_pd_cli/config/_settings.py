"""tpd's settings: one frozen attrs class per TOML table, each key declared once, on its field.

A field's `setting(...)` (see `_fields.py`) gives the key's TOML type, default, help and
environment variable; its converter and validator are the rules for the value on its own (Go's
severity spellings, a positive duration, `host:port`, role patterns), applied alike to values
from a file (the loader names the key in the error) and to settings built in code. Rules that
relate keys (fallbacks, all-or-none, warnings) are the loader's. `TABLES` lists every table in
file order, with its keys, for the loader and for `render.py`.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import ClassVar, Literal, TypeAlias

import attrs

from teleport_access.where import RolePattern, compile_role_pattern
from teleport_pd_cli.config._fields import (
    TPD,
    KeySpec,
    Kind,
    TableSpec,
    describe,
    format_duration,
    setting,
    subtable,
)

DEFAULT_CONFIG_PATH = "/etc/teleport-pagerduty.toml"
DEFAULT_TELEPORT_ADDR = "localhost:3025"
PAGERDUTY_ENDPOINTS: dict[str, str] = {
    "us": "https://api.pagerduty.com",
    "eu": "https://api.eu.pagerduty.com",
}
#: go-toml v1 reads the untagged Go field `RequestAnnotations` under these names only.
GO_REQUEST_ANNOTATIONS_SPELLINGS = (
    "RequestAnnotations",
    "requestannotations",
    "REQUESTANNOTATIONS",
    "requestAnnotations",
)
_PLUGIN_DIR = "/var/lib/teleport/plugins/pagerduty"


# -- rules for one value --------------------------------------------------------------------------


def _at_least(minimum: int, rule: str) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if value < minimum:
            raise ValueError(f"{rule}, got {value}")

    return check


def _positive(instance: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if value <= timedelta(0):
        raise ValueError(f"must be positive, got {format_duration(value)}")


def _not_negative(
    instance: object, attribute: attrs.Attribute[timedelta], value: timedelta
) -> None:
    if value < timedelta(0):
        raise ValueError("must not be negative")


def _optional_path(value: str | Path | None) -> Path | None:
    return Path(value) if value else None


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


def _listen_address(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if value:
        _split_host_port(value)


def _region(value: str) -> str:
    if value and value.lower() not in PAGERDUTY_ENDPOINTS:
        raise ValueError(f"unknown region {value!r} (use {' or '.join(PAGERDUTY_ENDPOINTS)})")
    return value.lower()


def _endpoint(value: str) -> str:
    """The URL without trailing slashes; empty means the US service region's."""
    return value.rstrip("/") or PAGERDUTY_ENDPOINTS["us"]


def _http_url(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")


def _token_url(value: str) -> str:
    """The token endpoint without trailing slashes; empty means PagerDuty's own."""
    return value.rstrip("/") or DEFAULT_OAUTH_TOKEN_URL


_SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")


def _subdomain(value: str) -> str:
    """The account's subdomain, as in https://<subdomain>.pagerduty.com (a URL is cut down)."""
    text = value.strip().lower()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.split("/", 1)[0].removesuffix(".pagerduty.com").removesuffix(".eu")
    if text and not _SUBDOMAIN.fullmatch(text):
        raise ValueError(
            f"{value!r} is not a PagerDuty account subdomain (the `acme` of acme.pagerduty.com)"
        )
    return text


def _scope_names(
    instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    for scope in value:
        if not scope or any(c.isspace() for c in scope):
            raise ValueError(f"{scope!r} is not an OAuth scope (e.g. incidents.write)")
        if scope.startswith("as_account-"):
            raise ValueError(
                f"{scope!r}: the account scope is added from `region` and `account_subdomain`"
            )


#: What tpd asks PagerDuty (the daemon, its readiness probe, `tpd doctor`, `tpd check-oncall`),
#: as client methods and operations. `oauth_scopes` defaults to exactly the scopes these need,
#: as PagerDuty's OpenAPI document names them (`x-pd-requires-scope`, through
#: `pagerduty_client.required_scopes`); tests/teleport_pd_cli/test_oauth.py checks the list
#: against the calls in the code.
PAGERDUTY_OPERATIONS = (
    "abilities",
    "find_service_by_name",
    "find_user_by_email",
    "get_user",
    "on_call",
    "check_on_call",
    "create_incident",
    "find_incidents",
    "get_incident",
    "add_note",
    "list_notes",
    "resolve_incident",
    # `tpd check-oncall` searches users for a "did you mean" hint.
    "GET /users",
)


def _default_oauth_scopes() -> tuple[str, ...]:
    from pagerduty_client import required_scopes

    return tuple(sorted(required_scopes(PAGERDUTY_OPERATIONS)))


DEFAULT_OAUTH_SCOPES = _default_oauth_scopes()
DEFAULT_OAUTH_TOKEN_URL = "https://identity.pagerduty.com/oauth/token"

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


# -- approve_roles patterns: Teleport's engine (teleport_access.where), matched as whole names --


def _role_pattern(pattern: str) -> RolePattern:
    """A compiled `approve_roles` pattern; ValueError (a `RolePatternError`) when it is empty or
    an invalid regular expression. Globs and `^...$` regexes as Teleport reads them, on RE2."""
    return compile_role_pattern(pattern)


def _string_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):  # a bare string would otherwise become one pattern per letter
        return (value,)
    return tuple(value)


def _role_patterns(
    instance: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]
) -> None:
    if not value:
        raise ValueError(
            'must list at least one role pattern (["*"] allows every role); '
            "to stop approving, set enabled = false"
        )
    for pattern in value:
        _role_pattern(pattern)


# -- the tables -----------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TeleportSettings:
    """`[teleport]`: the cluster address and the plugin's credentials (paths None when unset)."""

    TABLE: ClassVar[TableSpec] = TableSpec(
        name="teleport",
        help="How tpd reaches the Teleport cluster and which credentials it presents.",
    )

    #: The effective address: the loader falls back to `auth_server`, then localhost:3025.
    addr: str = setting(
        Kind.STRING,
        "",
        converter=lambda value: value or DEFAULT_TELEPORT_ADDR,
        env="TPD_TELEPORT_ADDR",
        default_doc='"" (then `auth_server`, then `localhost:3025`)',
        help="Address of the Teleport Auth Service (usually port 3025) or Proxy Service "
        "(3080 or 443; Teleport Cloud: `your-tenant.teleport.sh:443`). "
        "When empty, `auth_server` is used, then `localhost:3025`.",
    )
    auth_server: str = setting(
        Kind.STRING,
        "",
        commented=True,
        example="teleport.example.com:3025",
        deprecated="use `addr`",
        help="The old name of `addr`, read only when `addr` is empty.",
    )
    identity: Path | None = setting(
        Kind.PATH,
        "",
        converter=_optional_path,
        env="TPD_TELEPORT_IDENTITY",
        help="Identity file of the plugin's Teleport user (`tctl auth sign --format=file`, "
        "or the file tbot writes). Use either this or the three TLS files below.",
    )
    refresh_identity: bool = setting(
        Kind.BOOL,
        False,
        help="Reload the identity file every `refresh_identity_interval`, so credentials "
        "renewed by tbot are picked up without a restart. Requires `identity`.",
    )
    refresh_identity_interval: timedelta = setting(
        Kind.DURATION,
        timedelta(minutes=1),
        empty_means_default=True,
        validator=_not_negative,
        help='How often to reload the identity file, as a Go duration ("30s", "1m", "1h30m"). '
        "0 means the default.",
    )
    client_key: Path | None = setting(
        Kind.PATH,
        "",
        converter=_optional_path,
        commented=True,
        example=f"{_PLUGIN_DIR}/auth.key",
        help="Key file (`tctl auth sign --format=tls`). Set all three TLS files, or none.",
    )
    client_crt: Path | None = setting(
        Kind.PATH,
        "",
        converter=_optional_path,
        commented=True,
        example=f"{_PLUGIN_DIR}/auth.crt",
        help="Certificate file (`tctl auth sign --format=tls`).",
    )
    root_cas: Path | None = setting(
        Kind.PATH,
        "",
        converter=_optional_path,
        commented=True,
        example=f"{_PLUGIN_DIR}/auth.cas",
        help="Certificate authorities file (`tctl auth sign --format=tls`).",
    )

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

    TABLE: ClassVar[TableSpec] = TableSpec(
        name="pagerduty.request_annotations",
        origin=TPD,
        aliases=GO_REQUEST_ANNOTATIONS_SPELLINGS,
        help="Names of the access-request annotations (set in the requester's role under "
        "`spec.allow.request.annotations`) that tell tpd what to do. The Go plugin ignores "
        "this table under this name (it only reads `[pagerduty.RequestAnnotations]`); tpd "
        "reads both.",
    )

    notify_service: str = setting(
        Kind.STRING,
        "pagerduty_notify_service",
        empty_means_default=True,
        origin=TPD,
        help="Annotation naming the PagerDuty service to open an incident in "
        "(its first value is used). Empty means the default.",
    )
    services: str = setting(
        Kind.STRING,
        "pagerduty_services",
        empty_means_default=True,
        origin=TPD,
        help="Annotation listing the PagerDuty services whose on-call responders get their "
        "requests approved automatically. Empty means the default.",
    )


@attrs.frozen(kw_only=True)
class AutoApprovalSettings:
    """`[pagerduty.auto_approval]`: limits on approving on-call responders' requests."""

    TABLE: ClassVar[TableSpec] = TableSpec(
        name="pagerduty.auto_approval",
        origin=TPD,
        help="Limits on approving the requests of on-call responders. A request is approved "
        "only when all of these allow it.",
    )

    enabled: bool = setting(
        Kind.BOOL,
        True,
        origin=TPD,
        help="Submit approving reviews at all. `false` keeps incidents and notes only.",
    )
    #: Highest escalation level (1 = first tier) whose on-call responders are approved; 0 = any.
    max_escalation_level: int = setting(
        Kind.INT,
        0,
        validator=_at_least(0, "must be 0 (any level) or a level from 1 up"),
        origin=TPD,
        default_doc="0 (any level)",
        help="Approve only responders on call at this escalation level or a lower one "
        "(1 is the first tier of the escalation policy). 0 allows every level.",
    )
    #: Patterns every requested role must match (see `roles_allowed`).
    approve_roles: tuple[str, ...] = setting(
        Kind.STRING_LIST,
        ("*",),
        converter=_string_tuple,
        validator=_role_patterns,
        origin=TPD,
        help="Approve only requests all of whose roles match one of these patterns. `*` "
        "matches any run of characters (as in Teleport role conditions); a pattern "
        "written `^...$` is a regular expression in Go's syntax (RE2). A pattern must match "
        "the whole role name, case-sensitively; where Teleport would read a pattern "
        "otherwise (`^a|b$`), loading the config warns.",
    )
    page_when_approved: bool = setting(
        Kind.BOOL,
        True,
        origin=TPD,
        help="Open an incident also for a request tpd approves (the Go plugin's behaviour). "
        "`false`: tpd decides the approval first and pages only when it does not approve the "
        "request (teleport#54467); a request its approval leaves pending (more approvals "
        "needed) is still paged.",
    )
    _compiled: tuple[RolePattern, ...] = attrs.field(init=False, eq=False, repr=False, hash=False)

    @_compiled.default
    def _compile(self) -> tuple[RolePattern, ...]:
        return tuple(_role_pattern(pattern) for pattern in self.approve_roles)

    def role_allowed(self, role: str) -> bool:
        """Whether `role` is a whole-name match of a pattern (the documented meaning; where
        Teleport's own reading of a pattern differs, loading the config warns)."""
        return any(pattern.matches_whole_name(role) for pattern in self._compiled)

    def pattern_differences(self) -> list[str]:
        """A sentence for each pattern whose Teleport meaning differs from a whole-name match."""
        return [pattern.difference for pattern in self._compiled if pattern.difference]

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

    TABLE: ClassVar[TableSpec] = TableSpec(
        name="pagerduty",
        help="The PagerDuty account tpd opens incidents in and checks on-call schedules of.",
    )

    api_key: str = setting(
        Kind.STRING,
        "",
        env="TPD_PAGERDUTY_API_KEY",
        secret=True,
        help="PagerDuty REST API key (not a read-only key). A value starting with `/` names "
        "a file: its first 2000 bytes, trimmed of whitespace, are the key. Set this, or "
        "the `oauth_` keys and `account_subdomain` (Scoped OAuth), not both.",
        default_doc='"" (required unless the OAuth keys are set)',
    )
    oauth_client_id: str = setting(
        Kind.STRING,
        "",
        env="TPD_PAGERDUTY_OAUTH_CLIENT_ID",
        origin=TPD,
        commented=True,
        example="0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        help="Scoped OAuth instead of an API key (docs/pagerduty-oauth.md): the client ID of "
        "the app registered in the PagerDuty account.",
    )
    oauth_client_secret: str = setting(
        Kind.STRING,
        "",
        env="TPD_PAGERDUTY_OAUTH_CLIENT_SECRET",
        secret=True,
        origin=TPD,
        commented=True,
        example="/var/lib/teleport/plugins/pagerduty/oauth_client_secret",
        help="The app's client secret. A value starting with `/` names a file: its first "
        "2000 bytes, trimmed of whitespace, are the secret.",
    )
    account_subdomain: str = setting(
        Kind.STRING,
        "",
        converter=_subdomain,
        origin=TPD,
        commented=True,
        example="acme",
        help="With OAuth: the account's subdomain (`acme` for https://acme.pagerduty.com); "
        "with `region`, it names the account the token is for (`as_account-us.acme`).",
    )
    oauth_token_url: str = setting(
        Kind.STRING,
        "",
        converter=_token_url,
        validator=_http_url,
        origin=TPD,
        commented=True,
        example=DEFAULT_OAUTH_TOKEN_URL,
        default_doc=f'"" ({DEFAULT_OAUTH_TOKEN_URL})',
        help="With OAuth: the token endpoint. Plain http is accepted only for a loopback "
        "host (a test server).",
    )
    oauth_scopes: tuple[str, ...] = setting(
        Kind.STRING_LIST,
        DEFAULT_OAUTH_SCOPES,
        validator=_scope_names,
        origin=TPD,
        commented=True,
        help="With OAuth: the scopes to ask for. The default is exactly what tpd's calls need; "
        "the account scope is added by itself.",
    )
    user_email: str = setting(
        Kind.STRING,
        "",
        env="TPD_PAGERDUTY_USER_EMAIL",
        required=True,
        help="Email of the PagerDuty user that incidents and notes are created as "
        "(sent as the `From` header); may be an admin's email.",
    )
    #: As given (lower-cased); `api_endpoint` is the effective URL.
    region: str = setting(
        Kind.STRING,
        "",
        converter=_region,
        origin=TPD,
        commented=True,
        example="eu",
        default_doc='"" (the US service region)',
        help="PagerDuty service region: `us` (https://api.pagerduty.com) or `eu` "
        "(https://api.eu.pagerduty.com). Leave unset when `api_endpoint` is set.",
    )
    api_endpoint: str = setting(
        Kind.STRING,
        "",
        converter=_endpoint,
        validator=_http_url,
        origin=TPD,
        commented=True,
        example=PAGERDUTY_ENDPOINTS["us"],
        default_doc='"" (the endpoint of `region`: https://api.pagerduty.com)',
        help="Base URL of the PagerDuty REST API, e.g. for a proxy or a test server. "
        "Plain http is accepted with a warning unless the host is loopback.",
    )
    #: Client-side pacing of PagerDuty calls; 0 means none.
    requests_per_minute: int = setting(
        Kind.INT,
        0,
        validator=_at_least(0, "must be 0 (no pacing) or a positive rate"),
        origin=TPD,
        commented=True,
        example=960,
        default_doc="0 (no pacing)",
        help="Pace PagerDuty calls to this many per minute, so a burst of requests queues "
        "instead of drawing 429 answers (PagerDuty allows 960 per minute per API key; "
        "leave room for other users of the same key). 0: no pacing; after a 429, every "
        "call still waits until the rate-limit window resets.",
    )
    request_annotations: RequestAnnotations = subtable(RequestAnnotations)
    auto_approval: AutoApprovalSettings = subtable(AutoApprovalSettings)


@attrs.frozen(kw_only=True)
class LogSettings:
    """`[log]`."""

    TABLE: ClassVar[TableSpec] = TableSpec(name="log", help="Where and how tpd logs.")

    #: "stderr", "stdout", or a file path (Go's aliases resolved).
    output: str = setting(
        Kind.STRING,
        "stderr",
        converter=normalize_log_output,
        help="`stderr` (also `error`, `2`), `stdout` (also `out`, `1`), or a file path; "
        "a file is appended to and reopened when logrotate moves it.",
    )
    severity: Severity = setting(
        Kind.STRING,
        "info",
        converter=normalize_severity,
        help="`info`, `error` (or `err`), `warn` (or `warning`), `debug` or `trace`, "
        "in any case. `tpd run -d` forces `debug`.",
    )
    format: LogFormat = setting(
        Kind.STRING,
        "text",
        converter=_normalize_format,
        help="`text` (one readable line per event) or `json` (one JSON object per line).",
    )

    @property
    def level(self) -> int:
        return _LEVELS[self.severity]


@attrs.frozen(kw_only=True)
class MetricsSettings:
    """`[metrics]`: the optional metrics listener; `listen` "" means disabled."""

    TABLE: ClassVar[TableSpec] = TableSpec(
        name="metrics", origin=TPD, help="Prometheus metrics and health endpoints."
    )

    listen: str = setting(
        Kind.STRING,
        "",
        validator=_listen_address,
        origin=TPD,
        commented=True,
        example="127.0.0.1:9090",
        default_doc='"" (disabled)',
        help="`host:port` to serve Prometheus `/metrics`, `/healthz` and `/readyz` on "
        "(`[::1]:9090` for IPv6; `:9090` for every interface). Empty disables the "
        "server. See docs/operations.md.",
    )

    @property
    def enabled(self) -> bool:
        return bool(self.listen)

    @property
    def host(self) -> str:
        return _split_host_port(self.listen)[0]

    @property
    def port(self) -> int:
        return _split_host_port(self.listen)[1]


@attrs.frozen(kw_only=True)
class DaemonSettings:
    """`[tpd]`: tuning of `tpd run`."""

    TABLE: ClassVar[TableSpec] = TableSpec(
        name="tpd",
        origin=TPD,
        help="Tuning of the `tpd run` daemon. The defaults suit almost every cluster.",
    )

    handler_timeout: timedelta = setting(
        Kind.DURATION,
        timedelta(seconds=30),
        validator=_positive,
        origin=TPD,
        help="Time allowed for handling one access-request event, including every "
        "PagerDuty call and retry; what is left unfinished is retried on the next event.",
    )
    max_concurrency: int = setting(
        Kind.INT,
        128,
        validator=_at_least(1, "must be at least 1"),
        origin=TPD,
        help="Events handled at once (events of the same request always run one at a time, "
        "in order).",
    )
    lookup_cache_ttl: timedelta = setting(
        Kind.DURATION,
        timedelta(minutes=5),
        validator=_positive,
        origin=TPD,
        help="How long PagerDuty services and users found by name or email are remembered.",
    )
    shutdown_grace: timedelta = setting(
        Kind.DURATION,
        timedelta(seconds=15),
        validator=_positive,
        origin=TPD,
        help="On SIGTERM or SIGINT, how long events in flight may take to finish before "
        "tpd exits. A second SIGINT exits at once.",
    )


@attrs.frozen(kw_only=True)
class Config:
    """Everything `tpd run` needs, validated."""

    teleport: TeleportSettings = subtable(TeleportSettings)
    pagerduty: PagerDutySettings = subtable(PagerDutySettings, required=True)
    log: LogSettings = subtable(LogSettings)
    metrics: MetricsSettings = subtable(MetricsSettings)
    daemon: DaemonSettings = subtable(DaemonSettings)
    #: The file it was read from (None when built in code).
    path: str | None = None
    #: Where each non-default value came from, by dotted key: "file", "environment variable
    #: TPD_..." and, for an API key read from a file, "... (read from /path)".
    sources: Mapping[str, str] = attrs.field(factory=dict)

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in logs or output (for the log redactor): every key
        marked `secret` (tests/teleport_pd_cli/test_config_settings.py checks the list)."""
        values = (self.pagerduty.api_key, self.pagerduty.oauth_client_secret)
        return tuple(value for value in values if value)

    def with_severity(self, severity: str) -> Config:
        """A copy with another log severity (`tpd run -d` forces "debug")."""
        return attrs.evolve(self, log=attrs.evolve(self.log, severity=normalize_severity(severity)))


#: The tables `Config` holds, by attribute.
CONFIG_TABLES = describe(Config)
#: Every table, in the order files are rendered and documented.
TABLES: tuple[TableSpec, ...] = tuple(table for _, top in CONFIG_TABLES for table in top.walk())


def all_keys() -> Iterator[KeySpec]:
    for table in TABLES:
        yield from table.keys


def key(full_name: str) -> KeySpec:
    """The spec of a dotted key such as `pagerduty.auto_approval.enabled`. KeyError if none."""
    table_name, _, key_name = full_name.rpartition(".")
    for table in TABLES:
        if table.name == table_name:
            return table.key(key_name)
    raise KeyError(full_name)
