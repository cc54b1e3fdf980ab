"""`tpd demo`: the guide end to end against the fakes, as a real process and in-process."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pagerduty_client.testing import FakePagerDuty
from teleport_access import Role
from teleport_access.testing import FakeAuthServer
from teleport_pd_cli.tools.demo import DemoReport, run_demo

#: The README promises under a minute on a fresh machine; the demo itself takes a few seconds.
DEMO_LIMIT = 60.0


def discard(report: DemoReport) -> None:
    """Remove the directory a failed demo keeps for inspection."""
    shutil.rmtree(Path(report.environment["config"]).parent)


def exists(path: str) -> bool:
    return Path(path).exists()


def run_tpd_demo(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "teleport_pd_cli", "demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def demo_process() -> tuple[subprocess.CompletedProcess[str], float]:
    return run_tpd_demo()


def test_tpd_demo_exits_0_by_itself_within_a_minute(
    demo_process: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    result, elapsed = demo_process
    assert result.returncode == 0, result.stdout + result.stderr
    print(f"tpd demo took {elapsed:.1f}s as a process")  # shown with pytest -s
    assert elapsed < DEMO_LIMIT


@pytest.mark.parametrize(
    "milestone",
    [
        # the setup of guide steps 1, 2 and 4-6
        'service "Teleport Access Request Notifications"',
        'service "My Critical Service"',
        "Alice On-Call <alice@example.com> is on call now",
        "role access-plugin: the plugin: may review demo-role where contains(",
        "plugin ready as 'access-plugin'",
        # myuser's request: the incident, its contents and its plugin data
        "myuser: tsh request create --roles=editor",
        "opened in Teleport Access Request Notifications",
        "title:        Access request from myuser",
        "incident_key: teleport-access-request/",
        "myuser requested permissions for roles editor on Teleport at",
        "Reason: Edit the production config for the quarterly change",
        "plugin data 'pagerduty' on the request records incident_id=",
        # the review, the notes, the resolution
        "reviewer@example.com: tsh request review --approve",
        "review note added by Teleport Access Bot",
        "reviewer@example.com reviewed the request at",
        "Resolution: APPROVED.",
        "resolution note added by Teleport Access Bot",
        "Access request has been approved",
        " resolved (",
        # alice's request approved by the plugin
        "review by access-plugin: APPROVED",
        "Access requested by user Alice On-Call (alice@example.com) who is on call in "
        "service(s) My Critical Service",
        "no incident opened",
        # bob is not approved
        "no review: the request stays PENDING",
        "the plugin follows rule editor-to-critical",
        "opened in My Critical Service, not in Teleport Access Request Notifications",
        "Done: every step observed in",
    ],
)
def test_tpd_demo_shows_each_milestone(
    demo_process: tuple[subprocess.CompletedProcess[str], float], milestone: str
) -> None:
    assert milestone in demo_process[0].stdout


def test_tpd_demo_shows_the_incident_before_its_resolution(
    demo_process: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo_process[0].stdout
    order = [
        "opened in Teleport Access Request Notifications",
        "review note added",
        "resolution note added",
        " resolved (",
        "review by access-plugin: APPROVED",
        "stays PENDING",
    ]
    positions = [out.index(text) for text in order]
    assert positions == sorted(positions)


def test_tpd_demo_prints_no_secret_and_cleans_up(
    demo_process: tuple[subprocess.CompletedProcess[str], float],
) -> None:
    out = demo_process[0].stdout + demo_process[0].stderr
    assert "PRIVATE KEY" not in out
    assert "Token token=" not in out
    assert "api_key = <kept in the file>" in out
    directories = set(re.findall(r"/\S*tpd-demo-[^/\s]+", out))
    assert directories, "the demo names its config path"
    for directory in directories:
        assert not Path(directory).exists()


def test_tpd_demo_json_is_one_document_with_every_step() -> None:
    result, _ = run_tpd_demo("--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["error"] is None
    assert document["keep_running"] is False
    titles = [step["title"] for step in document["steps"]]
    assert len(titles) == 9
    assert titles[0] == "PagerDuty services (guide step 1)"
    observed = [e for step in document["steps"] for e in step["events"] if "author" in e]
    assert observed[0]["author"] == "access-plugin"
    assert "who is on call" in observed[0]["reason"]
    incident_events = [e for s in document["steps"] for e in s["events"] if "incident_id" in e]
    first = [e for e in incident_events if e["incident_id"] == incident_events[0]["incident_id"]]
    assert first[-1]["status"] == "resolved"
    routed = incident_events[-1]
    assert routed["incident_id"] != incident_events[0]["incident_id"]
    assert "opened in My Critical Service" in routed["text"]


# -- in-process: failures and --keep-running -------------------------------------------------------


async def test_a_step_that_does_not_happen_fails_with_what_was_expected() -> None:
    def plugin_may_not_review(auth: FakeAuthServer, pagerduty: FakePagerDuty) -> None:
        auth.add_role(Role(name="access-plugin"))  # no review_requests: Teleport refuses

    out = io.StringIO()
    report = await run_demo(out, step_timeout=1.5, customize=plugin_may_not_review)
    assert report.ok is False
    assert report.error is not None
    assert report.error["expected"] == "an approving review by access-plugin within 1.5s"
    assert "is PENDING" in report.error["observed"]
    text = out.getvalue()
    assert "expected an approving review by access-plugin within 1.5s" in text
    kept = Path(report.environment["config"]).parent
    assert f"kept in {kept}" in text
    assert (kept / "tpd.log").is_file()
    discard(report)


async def test_a_plugin_that_cannot_start_fails_the_demo() -> None:
    def refuse_api_key(auth: FakeAuthServer, pagerduty: FakePagerDuty) -> None:
        pagerduty.fail_next(1000, status=401)  # as if the key had been revoked

    out = io.StringIO()
    report = await run_demo(out, step_timeout=2.0, customize=refuse_api_key)
    assert report.ok is False
    assert report.error is not None
    assert report.error["expected"] == "the plugin to start and report ready"
    assert "401" in report.error["observed"]
    discard(report)


async def test_a_refused_action_of_a_person_in_the_story_fails_the_demo() -> None:
    def lock_reviewer(auth: FakeAuthServer, pagerduty: FakePagerDuty) -> None:
        auth.lock_user("reviewer@example.com", "locked for the test")

    report = await run_demo(io.StringIO(), step_timeout=5.0, customize=lock_reviewer)
    assert report.ok is False
    assert report.error is not None
    assert report.error["expected"] == "Teleport to accept what reviewer@example.com does"
    assert "AccessDenied" in report.error["observed"]
    discard(report)


async def test_keep_running_serves_until_stopped_and_check_oncall_works_meanwhile() -> None:
    stop = asyncio.Event()
    out = io.StringIO()
    task = asyncio.create_task(run_demo(out, keep_running=True, stop=stop))
    deadline = time.monotonic() + DEMO_LIMIT
    while "press Ctrl-C to stop them" not in out.getvalue():
        assert not task.done(), out.getvalue()
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    text = out.getvalue()
    config = re.search(r"plugin config\s+(\S+)", text)
    assert config is not None
    assert re.search(r"Teleport Auth Service\s+127\.0\.0\.1:\d+", text)
    assert re.search(r"PagerDuty API\s+http://127\.0\.0\.1:\d+", text)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "teleport_pd_cli",
        "check-oncall",
        "-c",
        config.group(1),
        "alice@example.com",
        "My Critical Service",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    assert b"is on call now" in stdout
    stop.set()
    report = await asyncio.wait_for(task, 30)
    assert report.ok
    assert not exists(config.group(1))


def test_keep_running_as_a_process_stops_cleanly_on_sigint() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "teleport_pd_cli", "demo", "--keep-running"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    try:
        assert process.stdout is not None
        seen: list[str] = []
        for line in process.stdout:
            seen.append(line)
            if "tpd check-oncall" in line and "bob@example.com" in line:
                break
        text = "".join(seen)
        assert "press Ctrl-C to stop them" in text, text
        config = re.search(r"plugin config\s+(\S+)", text)
        assert config is not None
        assert exists(config.group(1))
        process.send_signal(signal.SIGINT)
        rest, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, errors
    assert "Stopping the plugin and the fakes." in rest
    assert not exists(config.group(1))
