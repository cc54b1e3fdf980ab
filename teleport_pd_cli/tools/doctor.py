"""`tpd doctor`: check a deployment end to end, one line per check, each saying what to fix.

`diagnose(config_path)` yields `CheckResult`s in order, as each check finishes:

1. `config`: the file loads (each warning is its own `warn` line);
2. `credentials`, `credentials.expiry`: the identity file (or TLS files) exists, is private,
   its key matches its certificate, and it is valid for more than a day (or is refreshed);
3. `teleport.route`: how the Auth Service is reached (directly or through the Proxy) and the
   cluster name;
4. `teleport.version`: `Ping` answers and the server is Teleport 6.1.0 or newer;
5. `teleport.requests`, `teleport.plugin_data`: the plugin user may list access requests and
   read plugin data; `teleport.rules`: whether Access Monitoring Rules are available to it (a
   partial-success watch confirms the kind), how many route PagerDuty incidents, whether their
   conditions parse, and whether it may read users when a condition uses `user.traits`;
6. `teleport.roles`, `teleport.review`: the plugin's roles can be read, and their
   `review_requests` rules let it approve what `[pagerduty.auto_approval]` would approve;
7. `pagerduty.api_key`: `GET /abilities` accepts the key (401/403 fail); with Scoped OAuth
   instead, `pagerduty.oauth` (a token is issued, with every scope tpd needs: a missing one
   fails, naming it) and `pagerduty.api` (`GET /abilities` with the token);
8. `pagerduty.user_email`: the `From` user exists in PagerDuty, by exact email.

A check that cannot run because an earlier one failed is reported as `skip`. Nothing prints a
secret: messages are built from paths, names and the libraries' own (secret-free) errors.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from teleport_pd_cli._email import same_email
from teleport_pd_cli._exceptions import TpdError
from teleport_pd_cli.config import Config, PagerDutySettings, load_config
from teleport_pd_cli.policy._compat import MIN_SERVER_VERSION, server_version_supported
from teleport_pd_cli.policy.plugindata import PLUGIN_NAME

if TYPE_CHECKING:
    import httpx

    from pagerduty_client import AsyncPagerDutyClient
    from teleport_access import AuthClient, Identity, Role

__all__ = [
    "EXPIRY_WARNING",
    "MIN_SERVER_VERSION",
    "CheckResult",
    "Status",
    "diagnose",
    "format_result",
]

#: Below this remaining validity an identity that is not refreshed gets a warning.
EXPIRY_WARNING = timedelta(hours=24)
#: Even a refreshed identity gets a warning this close to expiry (its renewer may have stopped).
_REFRESHED_EXPIRY_WARNING = timedelta(minutes=10)

#: PagerDuty base roles that cannot create incidents or add notes.
_READ_ONLY_PD_ROLES = frozenset({"read_only_user", "read_only_limited_user", "observer"})
#: Seconds for each Teleport call and connection attempt: a doctor should answer promptly.
_TIMEOUT = 5.0


class Status(enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@attrs.frozen(kw_only=True)
class CheckResult:
    """One line of `tpd doctor`: which check, how it went, what it saw, and what to fix."""

    name: str
    status: Status
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "check": self.name,
            "status": self.status.value,
            "message": self.message,
            "fix": self.fix,
        }


def format_result(result: CheckResult) -> str:
    """`ok    teleport.version      Teleport 17.4.2 ...  Fix: ...` on one line."""
    message = _one_line(result.message)
    if result.fix:
        message = f"{message.rstrip('.')}. Fix: {_one_line(result.fix)}"
    return f"{result.status.value:<5} {result.name:<21} {message}"


def _one_line(text: str) -> str:
    return re.sub(r"\s*\n\s*(?:- )?", "; ", text.strip())


def _ok(name: str, message: str) -> CheckResult:
    return CheckResult(name=name, status=Status.OK, message=message)


def _warn(name: str, message: str, fix: str = "") -> CheckResult:
    return CheckResult(name=name, status=Status.WARN, message=message, fix=fix)


def _fail(name: str, message: str, fix: str = "") -> CheckResult:
    return CheckResult(name=name, status=Status.FAIL, message=message, fix=fix)


def _skip(name: str, why: str) -> CheckResult:
    return CheckResult(name=name, status=Status.SKIP, message=f"not checked: {why}")


_TELEPORT_CHECKS = (
    "teleport.route",
    "teleport.version",
    "teleport.requests",
    "teleport.plugin_data",
    "teleport.rules",
    "teleport.roles",
    "teleport.review",
)


async def diagnose(
    config_path: str | os.PathLike[str],
    *,
    environ: Mapping[str, str] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    pagerduty_transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[CheckResult]:
    """Run every check against the deployment `config_path` describes; yield each result."""
    try:
        config, warnings = load_config(config_path, environ=environ)
    except TpdError as exc:
        yield _fail(
            "config", str(exc), "correct the file (`tpd render-config` prints a complete one)"
        )
        # The PagerDuty half can still be checked when only another section is broken.
        from teleport_pd_cli.tools.oncall import load_pagerduty_settings

        for name in ("credentials", *_TELEPORT_CHECKS):
            yield _skip(name, "the config does not load")
        try:
            settings, _ = load_pagerduty_settings(config_path, environ=environ)
        except TpdError:
            for name in ("pagerduty.api_key", "pagerduty.user_email"):
                yield _skip(name, "the config does not load")
            return
        async for result in _check_pagerduty(settings, pagerduty_transport):
            yield result
        return
    yield _ok("config", f"{config.path} loaded")
    for warning in warnings:
        yield _warn("config", str(warning))

    identity: Identity | None = None
    expired = False
    async for result, loaded in _check_credentials(config, now()):
        identity = loaded or identity
        expired = expired or (result.name == "credentials.expiry" and result.status is Status.FAIL)
        yield result
    if identity is None or expired:
        why = "the credentials are not valid now" if expired else "no usable credentials"
        for name in _TELEPORT_CHECKS:
            yield _skip(name, why)
    else:
        async for result in _check_teleport(config, identity):
            yield result
    async for result in _check_pagerduty(config.pagerduty, pagerduty_transport):
        yield result


# -- credentials ----------------------------------------------------------------------------------


class _Capture(logging.Handler):
    """Collects the warnings teleport_access logs while loading credentials (an exposed key
    file, a damaged SSH certificate) so they become doctor lines instead of stray log output."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def _captured_warnings() -> Iterator[_Capture]:
    library = logging.getLogger("teleport_access")
    capture = _Capture()
    propagate = library.propagate
    library.addHandler(capture)
    library.propagate = False
    try:
        yield capture
    finally:
        library.removeHandler(capture)
        library.propagate = propagate


def _human(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes = seconds // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


async def _check_credentials(
    config: Config, now: datetime
) -> AsyncIterator[tuple[CheckResult, Identity | None]]:
    from teleport_access import CredentialsError, load_identity_file, load_tls_files

    teleport = config.teleport
    kind = teleport.credentials
    if kind is None:
        yield (
            _fail(
                "credentials",
                "no credentials configured",
                "set [teleport] identity to an identity file (`tctl auth sign --user=access-plugin "
                "--format=file --out=identity`, or a tbot identity output), or set client_key, "
                "client_crt and root_cas",
            ),
            None,
        )
        return
    with _captured_warnings() as capture:
        try:
            if kind == "identity":
                assert teleport.identity is not None
                described = f"identity file {teleport.identity}"
                identity = load_identity_file(teleport.identity, check_validity=False)
            else:
                assert teleport.client_key is not None
                assert teleport.client_crt is not None
                assert teleport.root_cas is not None
                described = f"TLS files {teleport.client_crt}"
                identity = load_tls_files(
                    teleport.client_key,
                    teleport.client_crt,
                    teleport.root_cas,
                    check_validity=False,
                )
        except CredentialsError as exc:
            yield _fail("credentials", str(exc)), None
            return
    roles = ", ".join(identity.roles) or "none"
    yield (
        _ok(
            "credentials",
            f"{described}: user {identity.username!r}, roles {roles}, cluster "
            f"{identity.cluster_name!r}; the {identity.key_type} key matches the certificate",
        ),
        identity,
    )
    for message in capture.messages:
        yield _warn("credentials", message), None
    yield _expiry(config, identity, now), None


def _expiry(config: Config, identity: Identity, now: datetime) -> CheckResult:
    name = "credentials.expiry"
    renew = (
        "renew them (`tctl auth sign` again, or run tbot) and set [teleport] "
        "refresh_identity = true so tpd picks up renewals"
    )
    if now < identity.not_before:
        return _fail(
            name,
            f"not valid until {_when(identity.not_before)} ({_human(identity.not_before - now)} "
            "from now)",
            "check this machine's clock",
        )
    left = identity.not_after - now
    if left <= timedelta(0):
        return _fail(name, f"expired at {_when(identity.not_after)}, {_human(left)} ago", renew)
    refreshed = config.teleport.refresh_identity
    text = f"valid until {_when(identity.not_after)} ({_human(left)} left)"
    if refreshed and left < _REFRESHED_EXPIRY_WARNING:
        return _warn(
            name,
            f"{text}, although refresh_identity is on",
            "check that whatever renews the file (tbot) is running",
        )
    if not refreshed and left < EXPIRY_WARNING:
        return _warn(name, f"{text}, less than a day", renew)
    if refreshed:
        text += f"; reloaded from disk every {_human(config.teleport.refresh_identity_interval)}"
    return _ok(name, text)


# -- Teleport -------------------------------------------------------------------------------------


async def _check_teleport(config: Config, identity: Identity) -> AsyncIterator[CheckResult]:
    from teleport_access import (
        AccessDenied,
        AuthClient,
        ConnectionProblem,
        ConnectOptions,
        TeleportError,
    )

    address = config.teleport.addr
    fix = (
        "check [teleport] addr: the Auth Service (host:3025) or the Proxy (host:443 or "
        "host:3080) must be reachable from here"
    )
    try:
        client = AuthClient(
            address,
            identity,
            call_timeout=_TIMEOUT,
            connect_options=ConnectOptions(connect_timeout=_TIMEOUT),
        )
    except ValueError as exc:
        yield _fail("teleport.route", str(exc), fix)
        for name in _TELEPORT_CHECKS[1:]:
            yield _skip(name, "[teleport] addr is not an address")
        return
    async with client:
        try:
            route = await client.connect()
        except (TeleportError, ValueError) as exc:
            yield _fail("teleport.route", str(exc), fix)
            for name in _TELEPORT_CHECKS[1:]:
                yield _skip(name, "the Auth Service cannot be reached")
            return
        cluster = route.cluster_name or identity.cluster_name
        yield _ok("teleport.route", f"{route.kind} via {route.address}, cluster {cluster!r}")
        try:
            info = await client.ping()
        except ConnectionProblem as exc:
            yield _fail(
                "teleport.version",
                f"cannot reach the Auth Service at {address}: {exc}",
                "check [teleport] addr and that this host can reach it",
            )
            for name in _TELEPORT_CHECKS[2:]:
                yield _skip(name, "the Auth Service cannot be reached")
            return
        except AccessDenied as exc:
            yield _fail(
                "teleport.version",
                f"the Auth Service at {address} refused the credentials: {exc}",
                "issue new credentials for the plugin user from this cluster",
            )
            for name in _TELEPORT_CHECKS[2:]:
                yield _skip(name, "the credentials are refused")
            return
        except TeleportError as exc:
            yield _fail("teleport.version", f"Ping failed: {exc}")
            for name in _TELEPORT_CHECKS[2:]:
                yield _skip(name, "Ping failed")
            return
        yield _version_result(info.server_version, info.cluster_name, address, identity)
        async for result in _check_permissions(client, identity):
            yield result
        yield await _check_rules(client, identity)
        async for result in _check_roles(client, config, identity):
            yield result


def _version_result(version: str, cluster: str, address: str, identity: Identity) -> CheckResult:
    verdict = server_version_supported(version)
    text = f"Teleport {version} at {address}, cluster {cluster!r}"
    if verdict is False:
        return _fail(
            "teleport.version",
            f"{text}: older than {MIN_SERVER_VERSION}",
            f"upgrade the cluster to Teleport {MIN_SERVER_VERSION} or newer",
        )
    if verdict is None:
        return _warn("teleport.version", f"{text}: cannot read the version number")
    if identity.cluster_name and cluster and identity.cluster_name != cluster:
        return _warn(
            "teleport.version",
            f"{text}, but the credentials were issued by cluster {identity.cluster_name!r}",
            "point [teleport] addr at the cluster that issued the identity",
        )
    return _ok("teleport.version", f"{text} (>= {MIN_SERVER_VERSION})")


async def _check_permissions(client: AuthClient, identity: Identity) -> AsyncIterator[CheckResult]:
    from teleport_access import AccessDenied, TeleportError

    user = identity.username
    try:
        async for _ in client.iter_access_requests(page_size=1):
            break
    except AccessDenied as exc:
        yield _fail(
            "teleport.requests",
            f"{user!r} may not list access requests: {exc}",
            "give the plugin's role the rule resources ['access_request'] verbs ['list', 'read']",
        )
    except TeleportError as exc:
        yield _fail("teleport.requests", f"listing access requests failed: {exc}")
    else:
        yield _ok("teleport.requests", f"{user!r} can list access requests")
    try:
        records = await client.list_plugin_data(PLUGIN_NAME)
    except AccessDenied as exc:
        yield _fail(
            "teleport.plugin_data",
            f"{user!r} may not read plugin data: {exc}",
            "give the plugin's role the rule resources ['access_plugin_data'] verbs ['update'] "
            "beside list and read of access_request",
        )
    except TeleportError as exc:
        yield _fail("teleport.plugin_data", f"reading plugin data failed: {exc}")
    else:
        yield _ok(
            "teleport.plugin_data",
            f"{user!r} can read plugin data ({len(records)} request(s) carry {PLUGIN_NAME} data)",
        )


async def _check_rules(client: AuthClient, identity: Identity) -> CheckResult:
    from teleport_access import AccessDenied, AccessMonitoringRuleFilter, TeleportError, WatchInit
    from teleport_pd_cli.policy import compile_rule
    from teleport_pd_cli.policy._rules import (
        ACCESS_REQUEST_SUBJECT,
        PAGERDUTY_NOTIFICATION,
        RULE_KIND,
    )

    name = "teleport.rules"
    grant = (
        "to route by Access Monitoring Rules, give the plugin's role the rule resources "
        f"['{RULE_KIND}'] verbs ['read', 'list']"
    )
    try:
        stream = client.watch((ACCESS_REQUEST_SUBJECT, RULE_KIND), allow_partial_success=True)
        try:
            init = await anext(stream)
        finally:
            await stream.aclose()
    except TeleportError as exc:
        return _warn(name, f"cannot open a watch stream to check rules: {exc}")
    if not isinstance(init, WatchInit) or not init.confirms(RULE_KIND):
        return _warn(
            name,
            "Access Monitoring Rules are not available to the plugin (a Teleport older than 16, "
            "or no read/list on access_monitoring_rule): tpd routes by role annotations only",
            grant,
        )
    rule_filter = AccessMonitoringRuleFilter(
        subjects=(ACCESS_REQUEST_SUBJECT,), notification_name=PAGERDUTY_NOTIFICATION
    )
    try:
        rules = [
            compile_rule(rule)
            for rule in await client.list_access_monitoring_rules(rule_filter)
            if rule.is_for(ACCESS_REQUEST_SUBJECT, PAGERDUTY_NOTIFICATION)
        ]
    except AccessDenied as exc:
        return _warn(name, f"watching rules is allowed but listing them is not: {exc}", grant)
    except TeleportError as exc:
        return _warn(name, f"listing Access Monitoring Rules failed: {exc}")
    broken = [rule.name for rule in rules if rule.parse_error is not None]
    if broken:
        return _warn(
            name,
            f"{len(rules)} rule(s) route PagerDuty incidents, but the condition of "
            f"{', '.join(broken)} does not parse (such a rule never matches)",
            "see `tpd rules list` for the error, and fix the rule's condition",
        )
    if any(rule.reads_traits for rule in rules):
        try:
            await client.get_user(identity.username)
        except AccessDenied:
            return _warn(
                name,
                f"{len(rules)} rule(s) route PagerDuty incidents, and a condition reads "
                "user.traits, which the plugin may not read (it evaluates without them)",
                "give the plugin's role the rule resources ['user'] verbs ['read']",
            )
        except TeleportError:
            pass  # a user record the plugin cannot see is not a permission problem
    return _ok(
        name, f"Access Monitoring Rules are available; {len(rules)} route PagerDuty incidents"
    )


async def _check_roles(
    client: AuthClient, config: Config, identity: Identity
) -> AsyncIterator[CheckResult]:
    from teleport_access import TeleportError

    # The certificate's roles are what Teleport checks; a user record is the fallback for a
    # certificate that does not list them.
    traits: Mapping[str, Any] = {}
    names = identity.roles
    source = "certificate"
    with contextlib.suppress(TeleportError):
        user = await client.get_user(identity.username)
        traits = user.traits
        if not names:
            names, source = user.roles, "user record"
    roles: list[Role] = []
    unreadable: list[str] = []
    for name in names:
        try:
            roles.append(await client.get_role(name))
        except TeleportError as exc:
            unreadable.append(f"{name} ({exc})")
    if not names:
        yield _warn(
            "teleport.roles",
            f"neither the certificate nor the user record of {identity.username!r} names a role",
            "give the plugin's user its role (`tctl users update` or tbot's roles) and sign new "
            "credentials",
        )
    elif unreadable:
        yield _warn(
            "teleport.roles",
            f"cannot read role(s) {', '.join(unreadable)}",
            "the review check below is incomplete; read them with `tctl get roles/<name>`",
        )
    else:
        yield _ok(
            "teleport.roles", f"read role(s) {', '.join(r.name for r in roles)} (from the {source})"
        )
    yield _review_result(roles, traits, identity.username, config)


def _review_result(
    roles: list[Role], traits: Mapping[str, Any], user: str, config: Config
) -> CheckResult:
    """Whether the plugin's roles let it approve what the config's auto-approval would."""
    from teleport_access import AccessRequest
    from teleport_access.where import WhereError, can_review

    name = "teleport.review"
    settings = config.pagerduty.auto_approval
    if not settings.enabled:
        return _ok(name, "auto-approval is disabled in the config; no review permission needed")
    rules = [
        (role.name, role.allow.review_requests)
        for role in roles
        if role.allow.review_requests is not None and role.allow.review_requests.roles
    ]
    if not rules:
        return _warn(
            name,
            f"the roles of {user!r} have no review_requests rule, so it cannot auto-approve",
            "add review_requests roles (and a where) to the plugin's role, as in docs/guide.md",
        )
    described = "; ".join(
        f"{role} may review {', '.join(rule.roles)}" + (f" when {rule.where}" if rule.where else "")
        for role, rule in rules
    )
    literal = [p for p in settings.approve_roles if not ("*" in p or p.startswith("^"))]
    if not literal:
        return _ok(name, described)
    problems: list[str] = []
    for role_name in literal:
        probe = AccessRequest(id="tpd-doctor-probe", user="tpd-doctor-probe", roles=(role_name,))
        try:
            decision = can_review(roles, traits, user, probe)
        except WhereError as exc:
            return _fail(name, f"a review_requests.where does not evaluate: {exc}")
        # A rule whose `where` depends on the request (its annotations) is what the guide sets
        # up; only a role no allow rule covers, or one a deny rule matches, is a problem.
        if not decision.allowed and not decision.where:
            problems.append(f"{role_name}: {decision.reason}")
    if problems:
        return _fail(
            name,
            f"approve_roles lists roles {user!r} may not review: {'; '.join(problems)}",
            "add them to review_requests.roles of the plugin's role, or remove them from "
            "[pagerduty.auto_approval] approve_roles",
        )
    return _ok(name, f"{described}; approve_roles {', '.join(literal)} are covered")


# -- PagerDuty ------------------------------------------------------------------------------------


async def _check_oauth(pd: AsyncPagerDutyClient) -> CheckResult:
    """`pagerduty.oauth`: the app gets a token, with every scope tpd needs."""
    from pagerduty_client import OAuthError, PagerDutyError
    from teleport_pd_cli.config import DEFAULT_OAUTH_SCOPES

    auth = pd.auth
    assert auth is not None
    name = "pagerduty.oauth"
    try:
        token = await auth.token()
    except OAuthError as exc:
        return _fail(name, f"PagerDuty did not issue a token: {exc}", exc.hint)
    except PagerDutyError as exc:
        return _fail(name, f"cannot get a token from PagerDuty: {exc}")
    account = sorted(scope for scope in token.scopes if scope.startswith("as_account-"))
    granted = ", ".join(sorted(token.scopes - set(account))) or "no API scope"
    missing = sorted(token.missing(DEFAULT_OAUTH_SCOPES))
    if missing:
        return _fail(
            name,
            f"the token lacks {', '.join(missing)} (granted: {granted})",
            "tick those scopes for the app in PagerDuty (Integrations > App Registration) and "
            "keep them in [pagerduty] oauth_scopes",
        )
    return _ok(name, f"app {auth.client_id} got a token for {', '.join(account) or '?'}: {granted}")


async def _check_pagerduty(
    settings: PagerDutySettings, transport: httpx.AsyncBaseTransport | None
) -> AsyncIterator[CheckResult]:
    from pagerduty_client import Forbidden, PagerDutyError, TransportError, Unauthorized
    from teleport_pd_cli.clients import PagerDutyUse, pagerduty_client

    endpoint = settings.api_endpoint
    oauth = bool(settings.oauth_client_id)
    name = "pagerduty.api" if oauth else "pagerduty.api_key"
    credentials = "the OAuth token" if oauth else "the API key"
    async with pagerduty_client(settings, PagerDutyUse.CHECK, transport=transport) as pd:
        if oauth:
            token_result = await _check_oauth(pd)
            yield token_result
            if token_result.status is Status.FAIL:
                yield _skip(name, "no usable OAuth token")
                yield _skip("pagerduty.user_email", "no usable OAuth token")
                return
        try:
            abilities = await pd.abilities()
        except (Unauthorized, Forbidden) as exc:
            status = "401 Unauthorized" if isinstance(exc, Unauthorized) else "403 Forbidden"
            fix = (
                "check that [pagerduty] account_subdomain and region name the app's account"
                if oauth
                else "set [pagerduty] api_key (or TPD_PAGERDUTY_API_KEY) to a full-access REST "
                "API key of this account and region"
            )
            yield _fail(name, f"PagerDuty at {endpoint} refused {credentials} ({status})", fix)
            yield _skip("pagerduty.user_email", f"{credentials} is refused")
            return
        except TransportError as exc:
            yield _fail(
                name,
                f"cannot reach PagerDuty at {endpoint}: {exc}",
                "check [pagerduty] api_endpoint / region and this host's network or HTTPS_PROXY",
            )
            yield _skip("pagerduty.user_email", "PagerDuty cannot be reached")
            return
        except PagerDutyError as exc:
            yield _fail(name, f"GET /abilities at {endpoint} failed: {exc}")
            yield _skip("pagerduty.user_email", f"the check of {credentials} failed")
            return
        yield _ok(
            name,
            f"PagerDuty at {endpoint} accepts {credentials} ({len(abilities)} abilities)",
        )
        email = settings.user_email
        try:
            user = await pd.find_user_by_email(email)
        except PagerDutyError as exc:
            yield _fail("pagerduty.user_email", f"looking up {email!r} failed: {exc}")
            return
    if user is None or not same_email(user.email, email):
        yield _fail(
            "pagerduty.user_email",
            f"no PagerDuty user has the email {email!r}; PagerDuty refuses incidents and notes "
            "whose From header is not a user's email",
            "set [pagerduty] user_email to the email of a PagerDuty user (the API key's owner)",
        )
        return
    described = f"From user {user.name} <{user.email}> ({user.id}, role {user.role or 'unknown'})"
    if user.role in _READ_ONLY_PD_ROLES:
        yield _warn(
            "pagerduty.user_email",
            f"{described} has a read-only role and may not create incidents",
            "use a user with the User, Manager or Admin base role",
        )
        return
    yield _ok("pagerduty.user_email", described)
