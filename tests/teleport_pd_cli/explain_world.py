"""The world of the `tpd explain` tests: the e2e suite's Teleport roles and users and PagerDuty
services (tests/e2e/world.py), served on 127.0.0.1 from background threads, and the cases of the
e2e security suite (tests/e2e/test_security.py) as setups with their expected verdicts.

Used by test_explain.py (the CLI), test_explain_daemon.py (the daemon decides the same) and
test_explain_docs.py (docs/troubleshooting.md shows what explain prints).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs
from click.testing import CliRunner, Result

from pagerduty_client import EscalationPolicy, User
from pagerduty_client.testing import FakePagerDuty
from teleport_access import AccessRequest, ReviewConditions, Role, RoleConditions
from teleport_access import User as TeleportUser
from teleport_access.testing import FakeAuthServer
from teleport_pd_cli.cli import cli
from tests.e2e.world import (
    API_KEY,
    BOT_EMAIL,
    PLUGIN_USER,
    REQUESTER_OSS,
    seed_pagerduty,
    seed_teleport,
)
from tests.teleport_pd_cli.test_doctor import write_config


@attrs.define
class World:
    auth: FakeAuthServer
    pd: FakePagerDuty
    policies: dict[str, EscalationPolicy]
    url: str
    identity: Path
    directory: Path
    #: Extra config text for the case (e.g. `[pagerduty.auto_approval]` limits).
    extra: str = ""
    #: Authenticate to PagerDuty as this Scoped OAuth app's secret instead of the API key.
    oauth_secret: str | None = None

    def config(self) -> Path:
        if self.oauth_secret is None:
            return write_config(
                self.directory,
                addr=self.auth.address,
                identity=self.identity,
                endpoint=self.url,
                api_key=API_KEY,
                user_email=BOT_EMAIL,
                extra=self.extra,
            )
        path = self.directory / "teleport-pagerduty.toml"
        path.write_text(
            f'[teleport]\naddr = "{self.auth.address}"\nidentity = "{self.identity}"\n'
            f'[pagerduty]\nuser_email = "{BOT_EMAIL}"\napi_endpoint = "{self.url}"\n'
            f'oauth_client_id = "tpd"\noauth_client_secret = "{self.oauth_secret}"\n'
            f'account_subdomain = "tpd-fake"\noauth_token_url = "{self.url}/oauth/token"\n'
            f"{self.extra}",
            encoding="utf-8",
        )
        return path

    def use_oauth(self, secret: str) -> None:
        """Register a Scoped OAuth app in the fake and let the config use it."""
        self.pd.add_oauth_client("tpd", secret)
        self.oauth_secret = secret

    def on_call(
        self, name: str, email: str, policy: str = "escalation_policy-1", *, level: int = 1
    ) -> User:
        user = self.pd.add_user(name, email)
        self.pd.add_on_call(user, self.policies[policy], level=level)
        return user

    def request(self, user: str = REQUESTER_OSS) -> AccessRequest:
        return self.auth.create_request(user, ["editor"], reason="because of")

    def run(self, *args: str) -> Result:
        """`tpd ARGS -c CONFIG` with CliRunner; the API key never appears in the output."""
        env = {"TPD_PAGERDUTY_API_KEY": "", "TPD_CONFIG": ""}
        result = CliRunner().invoke(cli, [*args, "-c", str(self.config())], env=env)
        assert API_KEY not in result.output
        return result

    def explain(self, request_id: str, *args: str) -> Result:
        return self.run("explain", request_id, *args)


@contextlib.contextmanager
def make_world(directory: Path) -> Iterator[World]:
    """A fresh world: both fakes running and seeded, and the plugin's identity file."""
    pd = FakePagerDuty(strict=True, api_key=API_KEY)
    _, policies = seed_pagerduty(pd)
    with FakeAuthServer().run_in_thread() as auth, pd.serve_in_thread() as url:
        seed_teleport(auth)
        identity = auth.write_identity_file(
            directory / "identity", PLUGIN_USER, roles=["access-plugin", "auto-approval-plugin"]
        )
        yield World(
            auth=auth, pd=pd, policies=policies, url=url, identity=identity, directory=directory
        )


@attrs.frozen(kw_only=True)
class Case:
    """One case of the e2e security suite: how to set it up, and what explain must say."""

    title: str
    setup: Callable[[World], AccessRequest]
    #: None: approved.
    failed_check: str | None
    #: The verdict's reason (the daemon's Skip or approval text), exactly.
    reason: str


def _approved(world: World) -> AccessRequest:
    world.on_call("Test User", REQUESTER_OSS)
    return world.request()


def _near_miss(world: World) -> AccessRequest:
    # PagerDuty's `query` is a substring search: both come back for the requester's email.
    world.on_call("Impostor", "m" + REQUESTER_OSS)
    world.on_call("Impostor Two", REQUESTER_OSS + ".attacker.example")
    return world.request()


def _not_an_email(world: World) -> AccessRequest:
    world.auth.add_user(TeleportUser(name="alice", roles=("oss-requester",)))
    world.on_call("Alice", "alice@example.com")
    return world.request("alice")


def _look_alike(world: World) -> AccessRequest:
    world.auth.add_user(TeleportUser(name="kate@example.com", roles=("oss-requester",)))
    world.on_call("Not Kate", "\u212aate@example.com")  # KELVIN SIGN
    return world.request("kate@example.com")


def _above_tier(world: World) -> AccessRequest:
    world.extra = "[pagerduty.auto_approval]\nmax_escalation_level = 1\n"
    world.on_call("Second Tier", REQUESTER_OSS, level=2)
    return world.request()


def _outside_roles(world: World) -> AccessRequest:
    world.extra = '[pagerduty.auto_approval]\napprove_roles = ["viewer*"]\n'
    world.on_call("On Call", REQUESTER_OSS)
    return world.request()


def _unannotated(world: World) -> AccessRequest:
    # "Service 3" exists, but the role annotates only "Service 1" and "Service 2".
    world.on_call("On Call Elsewhere", REQUESTER_OSS, "escalation_policy-3")
    return world.request()


def _not_pending(world: World) -> AccessRequest:
    world.on_call("On Call", REQUESTER_OSS)
    request = world.request()
    return world.auth.deny(request.id, reason="no")


def _may_not_review(world: World) -> AccessRequest:
    # The plugin's role may review only "viewer", not the requested "editor".
    world.auth.add_role(
        Role(
            name="auto-approval-plugin",
            allow=RoleConditions(review_requests=ReviewConditions(roles=("viewer",))),
        )
    )
    world.on_call("On Call", REQUESTER_OSS)
    return world.request()


CASES: dict[str, Case] = {
    "approved": Case(
        title="Approved: the requester is on call",
        setup=_approved,
        failed_check=None,
        reason="requester-oss@example.com is on call in Service 1",
    ),
    "near-miss-email": Case(
        title="A PagerDuty user whose email only resembles the requester's",
        setup=_near_miss,
        failed_check="pagerduty_user",
        reason="email is not found",
    ),
    "not-an-email": Case(
        title="A Teleport user name that is not an email",
        setup=_not_an_email,
        failed_check="requester_email",
        reason="'alice' does not look like a valid email",
    ),
    "unicode-look-alike": Case(
        title="The same address in another case, with a non-ASCII look-alike",
        setup=_look_alike,
        failed_check="pagerduty_user",
        reason="email is not found",
    ),
    "above-max-escalation-level": Case(
        title="On call at a tier above max_escalation_level",
        setup=_above_tier,
        failed_check="escalation_level",
        reason="user is on call only at escalation level(s) 2, above max_escalation_level 1",
    ),
    "outside-approve-roles": Case(
        title="A requested role outside approve_roles",
        setup=_outside_roles,
        failed_check="approve_roles",
        reason="role(s) editor not allowed by approve_roles ['viewer*']",
    ),
    "unannotated-service": Case(
        title="On call only for a service the request does not name",
        setup=_unannotated,
        failed_check="on_call",
        reason="user is not on call",
    ),
    "not-pending": Case(
        title="A request that is no longer pending",
        setup=_not_pending,
        failed_check="pending",
        reason="the request is DENIED, not PENDING",
    ),
    "plugin-may-not-review": Case(
        title="The plugin's role may not review the requested role",
        setup=_may_not_review,
        failed_check="review_permission",
        reason="Teleport would refuse the plugin's review: no review_requests allow rule of the "
        'reviewer\'s roles matches requested role "editor"',
    ),
}


#: What differs between runs: request ids, PagerDuty ids, times.
_VOLATILE = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<request-id>"),
    (re.compile(r"\bP[A-Z]\d{5}\b"), "<pd-id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"), "<time>"),
)


def normalized(text: str) -> str:
    """`text` with the ids and times that differ between runs replaced by placeholders."""
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text
