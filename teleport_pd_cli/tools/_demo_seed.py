"""The guide's setup, as data: what `tpd demo` seeds into the fake Auth Service and PagerDuty.

Steps 1 and 2 of docs/guide.md (the seed guide's services and RBAC resources), plus the people
who act in step 7: `myuser` asks for `editor`, `reviewer@example.com` approves it, and
`alice@example.com`, on call for My Critical Service, asks for `demo-role`. `bob@example.com`
may ask for `demo-role` too but is not on call, to show that the plugin approves only on-call
responders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from pagerduty_client import Service
    from pagerduty_client import User as PagerDutyUser
    from pagerduty_client.testing import FakePagerDuty
    from teleport_access import AccessMonitoringRule
    from teleport_access.testing import FakeAuthServer

NOTIFY_SERVICE = "Teleport Access Request Notifications"
CRITICAL_SERVICE = "My Critical Service"
PLUGIN_USER = "access-plugin"
REQUESTER = "myuser"
REVIEWER = "reviewer@example.com"
ON_CALL = "alice@example.com"
OFF_CALL = "bob@example.com"
BOT_EMAIL = "bot@example.com"
REVIEW_WHERE = f'contains(request.system_annotations["pagerduty_services"], "{CRITICAL_SERVICE}")'

#: (role, what it is for), in the order the guide creates them.
ROLE_SUMMARY = (
    ("editor", "the role myuser asks for"),
    ("editor-reviewer", "may review requests for editor"),
    ("editor-requester", f"may request editor; pagerduty_notify_service: {NOTIFY_SERVICE}"),
    ("demo-role", "the role on-call responders ask for"),
    ("demo-role-requester", f"may request demo-role; pagerduty_services: {CRITICAL_SERVICE}"),
    (PLUGIN_USER, f"the plugin: may review demo-role where {REVIEW_WHERE}"),
)
#: Teleport users and their roles.
USERS = (
    (REQUESTER, ("editor-requester",)),
    (REVIEWER, ("editor-reviewer",)),
    (ON_CALL, ("demo-role-requester",)),
    (OFF_CALL, ("demo-role-requester",)),
    (PLUGIN_USER, (PLUGIN_USER,)),
)


def routing_rule() -> AccessMonitoringRule:
    """The demo's Access Monitoring Rule: myuser's editor requests page My Critical Service."""
    from teleport_access import AccessMonitoringRule, Notification

    return AccessMonitoringRule(
        name="editor-to-critical",
        subjects=("access_request",),
        condition=(
            f'access_request.spec.roles.contains("editor") && '
            f'access_request.spec.user == "{REQUESTER}"'
        ),
        notification=Notification(name="pagerduty", recipients=(CRITICAL_SERVICE,)),
    )


def roles_of(user: str) -> tuple[str, ...]:
    """The roles of one of the demo's Teleport users (what their certificates carry)."""
    return dict(USERS)[user]


def seed_teleport(fake: FakeAuthServer) -> None:
    """The guide's roles (step 2, with thresholds approve 1 / deny 1) and users."""
    from teleport_access import (
        AccessReviewThreshold,
        RequestConditions,
        ReviewConditions,
        Role,
        RoleConditions,
        User,
    )

    one_of_each = (AccessReviewThreshold(approve=1, deny=1),)
    for role in (
        Role(name="editor", version="v5"),
        Role(
            name="editor-reviewer",
            version="v5",
            allow=RoleConditions(review_requests=ReviewConditions(roles=("editor",))),
        ),
        Role(
            name="editor-requester",
            version="v5",
            allow=RoleConditions(
                request=RequestConditions(
                    roles=("editor",),
                    thresholds=one_of_each,
                    annotations={"pagerduty_notify_service": (NOTIFY_SERVICE,)},
                )
            ),
        ),
        Role(name="demo-role", version="v5"),
        Role(
            name="demo-role-requester",
            version="v5",
            allow=RoleConditions(
                request=RequestConditions(
                    roles=("demo-role",),
                    thresholds=one_of_each,
                    annotations={"pagerduty_services": (CRITICAL_SERVICE,)},
                )
            ),
        ),
        Role(
            name=PLUGIN_USER,
            version="v5",
            allow=RoleConditions(
                review_requests=ReviewConditions(roles=("demo-role",), where=REVIEW_WHERE)
            ),
        ),
    ):
        fake.add_role(role)
    for name, roles in USERS:
        fake.add_user(User(name=name, roles=roles))


@attrs.frozen(kw_only=True)
class PagerDutySeed:
    """What was created in the fake PagerDuty account."""

    bot: PagerDutyUser
    reviewer: PagerDutyUser
    on_call: PagerDutyUser
    off_call: PagerDutyUser
    notify_service: Service
    critical_service: Service
    notify_policy_name: str
    critical_policy_name: str
    schedule_name: str
    shift_end: datetime


def seed_pagerduty(fake: FakePagerDuty, *, now: datetime | None = None) -> PagerDutySeed:
    """Step 1: the two services with their escalation policies, and the people."""
    now = now or datetime.now(UTC)
    bot = fake.add_user("Teleport Access Bot", BOT_EMAIL, role="admin")
    reviewer = fake.add_user("Riley Reviewer", REVIEWER, role="user")
    on_call = fake.add_user("Alice On-Call", ON_CALL, role="user")
    off_call = fake.add_user("Bob Off-Call", OFF_CALL, role="user")
    notify_policy = fake.add_escalation_policy("Access request reviewers", rules=[[reviewer]])
    schedule = fake.add_schedule(f"{CRITICAL_SERVICE} primary")
    critical_policy = fake.add_escalation_policy(f"{CRITICAL_SERVICE} escalation", [[schedule]])
    # Alice's shift started an hour ago and ends in eight hours; Bob has no shift.
    shift_end = (now + timedelta(hours=8)).replace(microsecond=0)
    fake.add_on_call(
        on_call,
        critical_policy,
        level=1,
        schedule=schedule,
        start=now - timedelta(hours=1),
        end=shift_end,
    )
    return PagerDutySeed(
        bot=bot,
        reviewer=reviewer,
        on_call=on_call,
        off_call=off_call,
        notify_service=fake.add_service(NOTIFY_SERVICE, notify_policy),
        critical_service=fake.add_service(CRITICAL_SERVICE, critical_policy),
        notify_policy_name=notify_policy.name,
        critical_policy_name=critical_policy.name,
        schedule_name=schedule.summary or "",
        shift_end=shift_end,
    )


def config_text(
    *,
    auth_address: str,
    identity: Path,
    pagerduty_url: str,
    api_key: str,
    log_path: Path,
) -> str:
    """Step 6: the plugin's config, as an operator would write it (from `tpd render-config`)."""
    import tomlkit

    document = tomlkit.document()
    document.add(tomlkit.comment("tpd demo: the plugin's config, pointing at the local fakes."))
    teleport = tomlkit.table()
    teleport.add("addr", auth_address)
    teleport.add("identity", str(identity))
    teleport.add("refresh_identity", True)
    pagerduty = tomlkit.table()
    pagerduty.add("api_key", api_key)
    pagerduty.add("user_email", BOT_EMAIL)
    pagerduty.add("api_endpoint", pagerduty_url)
    log = tomlkit.table()
    log.add("output", str(log_path))
    log.add("severity", "debug")
    document.add("teleport", teleport)
    document.add("pagerduty", pagerduty)
    document.add("log", log)
    return tomlkit.dumps(document)
