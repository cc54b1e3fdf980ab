"""`tpd explain` and `tpd run` agree: for each case of the e2e security suite, explain's verdict
is what the real `Processor` then does with the same request, fakes and configuration."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from teleport_access import AccessRequestPut, RequestState
from teleport_pd_cli.clients import PagerDutyUse, auth_client, pagerduty_client
from teleport_pd_cli.config import load_config
from teleport_pd_cli.daemon._lookups import Lookups
from teleport_pd_cli.daemon._processor import Processor
from teleport_pd_cli.policy import PolicySettings
from teleport_pd_cli.tools.explain import RequestExplanation, explain_request
from tests.e2e.world import PLUGIN_USER
from tests.teleport_pd_cli.explain_world import CASES, World, make_world


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with make_world(tmp_path) as made:
        yield made


async def explain_then_run(world: World, request_id: str) -> RequestExplanation:
    """Explain the request, then let the daemon's processor handle it once, as `tpd run`
    would (same config, same clients, same plugin identity)."""
    config, _ = load_config(world.config())
    explanation = await explain_request(config, request_id)
    async with (
        auth_client(config.teleport) as auth,
        pagerduty_client(config.pagerduty, PagerDutyUse.DAEMON) as pagerduty,
    ):
        processor = Processor(
            auth=auth,
            pagerduty=pagerduty,
            lookups=Lookups(pagerduty, auth, ttl=60),
            settings=PolicySettings.from_config(config.pagerduty),
            plugin_user=auth.identity.username,
            plugin_roles=auth.identity.roles,
        )
        request = await auth.get_access_request(request_id)
        outcome = await processor.handle(AccessRequestPut(request=request))
    assert outcome.ok, outcome.errors
    return explanation


def page_when_approved(extra: str, value: str) -> str:
    """`extra` (a case's config text, which ends with the `[pagerduty.auto_approval]` table if
    it has one) with `page_when_approved = value` in that table."""
    if "[pagerduty.auto_approval]" not in extra:
        extra += "[pagerduty.auto_approval]\n"
    return f"{extra}page_when_approved = {value}\n"


@pytest.mark.parametrize("paging", ["true", "false"])
@pytest.mark.parametrize("name", list(CASES))
async def test_the_daemon_does_what_explain_said(
    world: World, name: str, paging: str, caplog: pytest.LogCaptureFixture
) -> None:
    request = CASES[name].setup(world)
    world.extra = page_when_approved(world.extra, paging)

    with caplog.at_level(logging.DEBUG, logger="teleport_pd_cli.daemon"):
        explanation = await explain_then_run(world, request.id)

    verdict = explanation.verdict
    assert (verdict.failed_check, verdict.reason) == (
        CASES[name].failed_check,
        CASES[name].reason,
    )
    after = world.auth.get_request(request.id)
    assert after is not None
    plugin_reviews = [r for r in after.reviews if r.author == PLUGIN_USER]
    if verdict.approve:
        assert after.state is RequestState.APPROVED
        assert len(plugin_reviews) == 1
        assert "Successfully submitted a request approval" in caplog.text
        assert len(world.pd.incidents) == (1 if paging == "true" else 0)
        return
    assert plugin_reviews == []
    assert after.state is request.state
    if verdict.failed_check == "review_permission":
        assert "Teleport refused the approval of an on-call requester" in caplog.text
    elif request.state is RequestState.PENDING:
        assert f"Skipping the approval: {verdict.reason}" in caplog.text


async def test_after_the_daemon_paged_explain_shows_its_incident_and_the_same_verdict(
    world: World,
) -> None:
    request = CASES["unannotated-service"].setup(world)
    before = await explain_then_run(world, request.id)
    (incident,) = world.pd.incidents

    config, _ = load_config(world.config())
    after = await explain_request(config, request.id)

    assert before.data is None
    assert after.data is not None
    assert after.data.incident_id == incident.id
    assert after.incident is not None
    assert after.incident.status == "triggered"
    assert after.verdict == before.verdict
    assert "the request has its incident already" in "\n".join(after.lines())
