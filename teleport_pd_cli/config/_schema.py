"""The one declarative description of every config key: table, type, default, help, environment.

`config.py` reads and validates against it, `render.py` turns it into the commented TOML of
`tpd render-config` and into `docs/config.md`. A default or a help text changes here and nowhere
else.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from datetime import timedelta

import attrs

#: Where a key comes from: the Go plugin's file format, or a tpd extension the Go plugin ignores.
GO = "go"
TPD = "tpd"


class Kind(enum.Enum):
    """A key's TOML type, as the loader checks it and the docs name it."""

    STRING = "string"
    PATH = "path"
    BOOL = "boolean"
    INT = "integer"
    DURATION = "duration"
    STRING_LIST = "list of strings"


@attrs.frozen(kw_only=True)
class KeySpec:
    """One key of one table."""

    table: str
    name: str
    kind: Kind
    #: The Python value used when the key is absent (str, bool, int, timedelta or tuple[str, ...]).
    default: object
    #: What the key does, in sentences; rendered as TOML comments and in the docs table.
    help: str
    origin: str = GO
    #: Environment variable that overrides the file, if any.
    env: str | None = None
    secret: bool = False
    required: bool = False
    #: Rendered commented-out by `render-config` (alternatives and rarely needed keys).
    commented: bool = False
    #: The value `render-config` shows for a commented key, when the default would say nothing.
    example: object | None = None
    #: How the docs show the default, when the raw value would mislead (e.g. "" meaning derived).
    default_doc: str | None = None
    deprecated: str | None = None

    @property
    def full_name(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def display(self) -> str:
        """`[table] key`, the form every message uses."""
        return f"[{self.table}] {self.name}"


@attrs.frozen(kw_only=True)
class TableSpec:
    """One TOML table and its keys."""

    name: str
    help: str
    keys: tuple[KeySpec, ...]
    origin: str = GO
    #: Other spellings of the table's last name segment that are accepted for compatibility.
    aliases: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def key(self, name: str) -> KeySpec:
        for spec in self.keys:
            if spec.name == name:
                return spec
        raise KeyError(f"{self.name}.{name}")


# -- Go durations ---------------------------------------------------------------------------------

_DURATION_UNITS: dict[str, timedelta] = {
    "ns": timedelta(microseconds=0.001),
    "us": timedelta(microseconds=1),
    "µs": timedelta(microseconds=1),  # U+00B5 MICRO SIGN
    "μs": timedelta(microseconds=1),  # U+03BC GREEK SMALL LETTER MU
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> timedelta:
    """Parse a Go `time.ParseDuration` string ("30s", "1m", "1h30m", "1.5h", "-2m", "0").

    Raises ValueError with the reason. Precision is Python's: microseconds (nanoseconds are
    rounded).
    """
    original = text
    sign = 1
    if text[:1] in ("+", "-"):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return timedelta(0)
    if not text:
        raise ValueError(f"invalid duration {original!r}")
    total = timedelta(0)
    position = 0
    while position < len(text):
        match = _DURATION_PART.match(text, position)
        if match is None:
            rest = text[position:]
            if re.match(r"\d*\.?\d*$", rest):
                raise ValueError(f"missing unit in duration {original!r}")
            raise ValueError(f"invalid duration {original!r}")
        number, unit = match.groups()
        try:
            total += float(number) * _DURATION_UNITS[unit]
        except OverflowError:  # beyond timedelta's ~2.7 million years (Go's limit is 292)
            raise ValueError(f"duration {original!r} is out of range") from None
        position = match.end()
    return sign * total


def format_duration(value: timedelta) -> str:
    """The shortest Go duration string for `value` that `parse_duration` reads back: "1h30m"."""
    micros = round(value / timedelta(microseconds=1))
    if micros == 0:
        return "0s"
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, micros = divmod(rest, 1_000_000)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if seconds or micros:
        if micros:
            fraction = f"{micros:06d}".rstrip("0")
            parts.append(f"{seconds}.{fraction}s")
        else:
            parts.append(f"{seconds}s")
    return sign + "".join(parts)


# -- the schema -----------------------------------------------------------------------------------

DEFAULT_CONFIG_PATH = "/etc/teleport-pagerduty.toml"
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

TELEPORT = TableSpec(
    name="teleport",
    help="How tpd reaches the Teleport cluster and which credentials it presents.",
    keys=(
        KeySpec(
            table="teleport",
            name="addr",
            kind=Kind.STRING,
            default="",
            env="TPD_TELEPORT_ADDR",
            help=(
                "Address of the Teleport Auth Service (usually port 3025) or Proxy Service "
                "(3080 or 443; Teleport Cloud: `your-tenant.teleport.sh:443`). "
                "When empty, `auth_server` is used, then `localhost:3025`."
            ),
            default_doc='"" (then `auth_server`, then `localhost:3025`)',
        ),
        KeySpec(
            table="teleport",
            name="auth_server",
            kind=Kind.STRING,
            default="",
            commented=True,
            example="teleport.example.com:3025",
            deprecated="use `addr`",
            help="The old name of `addr`, read only when `addr` is empty.",
        ),
        KeySpec(
            table="teleport",
            name="identity",
            kind=Kind.PATH,
            default="",
            env="TPD_TELEPORT_IDENTITY",
            help=(
                "Identity file of the plugin's Teleport user (`tctl auth sign --format=file`, "
                "or the file tbot writes). Use either this or the three TLS files below."
            ),
        ),
        KeySpec(
            table="teleport",
            name="refresh_identity",
            kind=Kind.BOOL,
            default=False,
            help=(
                "Reload the identity file every `refresh_identity_interval`, so credentials "
                "renewed by tbot are picked up without a restart. Requires `identity`."
            ),
        ),
        KeySpec(
            table="teleport",
            name="refresh_identity_interval",
            kind=Kind.DURATION,
            default=timedelta(minutes=1),
            help='How often to reload the identity file, as a Go duration ("30s", "1m", "1h30m"). '
            "0 means the default.",
        ),
        KeySpec(
            table="teleport",
            name="client_key",
            kind=Kind.PATH,
            default="",
            commented=True,
            example=f"{_PLUGIN_DIR}/auth.key",
            help="Key file (`tctl auth sign --format=tls`). Set all three TLS files, or none.",
        ),
        KeySpec(
            table="teleport",
            name="client_crt",
            kind=Kind.PATH,
            default="",
            commented=True,
            example=f"{_PLUGIN_DIR}/auth.crt",
            help="Certificate file (`tctl auth sign --format=tls`).",
        ),
        KeySpec(
            table="teleport",
            name="root_cas",
            kind=Kind.PATH,
            default="",
            commented=True,
            example=f"{_PLUGIN_DIR}/auth.cas",
            help="Certificate authorities file (`tctl auth sign --format=tls`).",
        ),
    ),
)

PAGERDUTY = TableSpec(
    name="pagerduty",
    help="The PagerDuty account tpd opens incidents in and checks on-call schedules of.",
    keys=(
        KeySpec(
            table="pagerduty",
            name="api_key",
            kind=Kind.STRING,
            default="",
            env="TPD_PAGERDUTY_API_KEY",
            secret=True,
            required=True,
            help=(
                "PagerDuty REST API key (not a read-only key). A value starting with `/` names "
                "a file: its first 2000 bytes, trimmed of whitespace, are the key."
            ),
        ),
        KeySpec(
            table="pagerduty",
            name="user_email",
            kind=Kind.STRING,
            default="",
            env="TPD_PAGERDUTY_USER_EMAIL",
            required=True,
            help=(
                "Email of the PagerDuty user that incidents and notes are created as "
                "(sent as the `From` header); may be an admin's email."
            ),
        ),
        KeySpec(
            table="pagerduty",
            name="region",
            kind=Kind.STRING,
            default="",
            origin=TPD,
            commented=True,
            example="eu",
            default_doc='"" (the US service region)',
            help=(
                "PagerDuty service region: `us` (https://api.pagerduty.com) or `eu` "
                "(https://api.eu.pagerduty.com). Leave unset when `api_endpoint` is set."
            ),
        ),
        KeySpec(
            table="pagerduty",
            name="api_endpoint",
            kind=Kind.STRING,
            default="",
            origin=TPD,
            commented=True,
            example=PAGERDUTY_ENDPOINTS["us"],
            default_doc='"" (the endpoint of `region`: https://api.pagerduty.com)',
            help=(
                "Base URL of the PagerDuty REST API, e.g. for a proxy or a test server. "
                "Plain http is accepted with a warning unless the host is loopback."
            ),
        ),
        KeySpec(
            table="pagerduty",
            name="requests_per_minute",
            kind=Kind.INT,
            default=0,
            origin=TPD,
            commented=True,
            example=960,
            default_doc="0 (no pacing)",
            help=(
                "Pace PagerDuty calls to this many per minute, so a burst of requests queues "
                "instead of drawing 429 answers (PagerDuty allows 960 per minute per API key; "
                "leave room for other users of the same key). 0: no pacing; after a 429, every "
                "call still waits until the rate-limit window resets."
            ),
        ),
    ),
)

REQUEST_ANNOTATIONS = TableSpec(
    name="pagerduty.request_annotations",
    origin=TPD,
    aliases=GO_REQUEST_ANNOTATIONS_SPELLINGS,
    help=(
        "Names of the access-request annotations (set in the requester's role under "
        "`spec.allow.request.annotations`) that tell tpd what to do. The Go plugin ignores this "
        "table under this name (it only reads `[pagerduty.RequestAnnotations]`); tpd reads both."
    ),
    keys=(
        KeySpec(
            table="pagerduty.request_annotations",
            name="notify_service",
            kind=Kind.STRING,
            default="pagerduty_notify_service",
            origin=TPD,
            help=(
                "Annotation naming the PagerDuty service to open an incident in "
                "(its first value is used). Empty means the default."
            ),
        ),
        KeySpec(
            table="pagerduty.request_annotations",
            name="services",
            kind=Kind.STRING,
            default="pagerduty_services",
            origin=TPD,
            help=(
                "Annotation listing the PagerDuty services whose on-call responders get their "
                "requests approved automatically. Empty means the default."
            ),
        ),
    ),
)

AUTO_APPROVAL = TableSpec(
    name="pagerduty.auto_approval",
    origin=TPD,
    help=(
        "Limits on approving the requests of on-call responders. A request is approved only "
        "when all of these allow it."
    ),
    keys=(
        KeySpec(
            table="pagerduty.auto_approval",
            name="enabled",
            kind=Kind.BOOL,
            default=True,
            origin=TPD,
            help="Submit approving reviews at all. `false` keeps incidents and notes only.",
        ),
        KeySpec(
            table="pagerduty.auto_approval",
            name="max_escalation_level",
            kind=Kind.INT,
            default=0,
            origin=TPD,
            default_doc="0 (any level)",
            help=(
                "Approve only responders on call at this escalation level or a lower one "
                "(1 is the first tier of the escalation policy). 0 allows every level."
            ),
        ),
        KeySpec(
            table="pagerduty.auto_approval",
            name="approve_roles",
            kind=Kind.STRING_LIST,
            default=("*",),
            origin=TPD,
            help=(
                "Approve only requests all of whose roles match one of these patterns. `*` "
                "matches any run of characters (as in Teleport role conditions); a pattern "
                "written `^...$` is a regular expression. Matching is case-sensitive."
            ),
        ),
    ),
)

LOG = TableSpec(
    name="log",
    help="Where and how tpd logs.",
    keys=(
        KeySpec(
            table="log",
            name="output",
            kind=Kind.STRING,
            default="stderr",
            help=(
                "`stderr` (also `error`, `2`), `stdout` (also `out`, `1`), or a file path; "
                "a file is appended to and reopened when logrotate moves it."
            ),
        ),
        KeySpec(
            table="log",
            name="severity",
            kind=Kind.STRING,
            default="info",
            help=(
                "`info`, `error` (or `err`), `warn` (or `warning`), `debug` or `trace`, "
                "in any case. `tpd run -d` forces `debug`."
            ),
        ),
        KeySpec(
            table="log",
            name="format",
            kind=Kind.STRING,
            default="text",
            help="`text` (one readable line per event) or `json` (one JSON object per line).",
        ),
    ),
)

METRICS = TableSpec(
    name="metrics",
    origin=TPD,
    help="Prometheus metrics and health endpoints.",
    keys=(
        KeySpec(
            table="metrics",
            name="listen",
            kind=Kind.STRING,
            default="",
            origin=TPD,
            commented=True,
            example="127.0.0.1:9090",
            default_doc='"" (disabled)',
            help=(
                "`host:port` to serve Prometheus `/metrics`, `/healthz` and `/readyz` on "
                "(`[::1]:9090` for IPv6; `:9090` for every interface). Empty disables the "
                "server. See docs/operations.md."
            ),
        ),
    ),
)

DAEMON = TableSpec(
    name="tpd",
    origin=TPD,
    help="Tuning of the `tpd run` daemon. The defaults suit almost every cluster.",
    keys=(
        KeySpec(
            table="tpd",
            name="handler_timeout",
            kind=Kind.DURATION,
            default=timedelta(seconds=30),
            origin=TPD,
            help=(
                "Time allowed for handling one access-request event, including every "
                "PagerDuty call and retry; what is left unfinished is retried on the next event."
            ),
        ),
        KeySpec(
            table="tpd",
            name="max_concurrency",
            kind=Kind.INT,
            default=128,
            origin=TPD,
            help=(
                "Events handled at once (events of the same request always run one at a time, "
                "in order)."
            ),
        ),
        KeySpec(
            table="tpd",
            name="lookup_cache_ttl",
            kind=Kind.DURATION,
            default=timedelta(minutes=5),
            origin=TPD,
            help="How long PagerDuty services and users found by name or email are remembered.",
        ),
        KeySpec(
            table="tpd",
            name="shutdown_grace",
            kind=Kind.DURATION,
            default=timedelta(seconds=15),
            origin=TPD,
            help=(
                "On SIGTERM or SIGINT, how long events in flight may take to finish before "
                "tpd exits. A second SIGINT exits at once."
            ),
        ),
    ),
)

#: Every table, in the order files are rendered and documented.
TABLES: tuple[TableSpec, ...] = (
    TELEPORT,
    PAGERDUTY,
    REQUEST_ANNOTATIONS,
    AUTO_APPROVAL,
    LOG,
    METRICS,
    DAEMON,
)


def all_keys() -> Iterator[KeySpec]:
    for table in TABLES:
        yield from table.keys


def table(name: str) -> TableSpec:
    for spec in TABLES:
        if spec.name == name:
            return spec
    raise KeyError(name)


def key(full_name: str) -> KeySpec:
    table_name, _, key_name = full_name.rpartition(".")
    return table(table_name).key(key_name)


def default(full_name: str) -> object:
    """The default of `table.key`, for attrs field defaults in config.py."""
    return key(full_name).default
