"""The API key never shows (repr, logs, exceptions, tracebacks); every call is logged."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from pagerduty_client import (
    AsyncPagerDutyClient,
    ConfigurationError,
    PagerDutyError,
    RetryPolicy,
    TransportError,
    Unauthorized,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import API_KEY, BOT_EMAIL, World


def leaked(text: str) -> bool:
    return API_KEY in text or API_KEY.lower() in text.lower()


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{record.getMessage()} {record.__dict__!r}" for record in caplog.records)


def everything_about(error: BaseException) -> str:
    return f"{error!s} {error!r} {error.__dict__!r} " + "".join(traceback.format_exception(error))


async def test_the_key_is_in_no_log_line_of_a_whole_session(
    fake: FakePagerDuty, clock: FakeClock, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.faults.error_rate = 0.3
    async with fake.client(user_email=BOT_EMAIL, clock=clock.monotonic, sleep=clock.sleep,
                           retry=RetryPolicy(max_attempts=10)) as pd:  # fmt: skip
        await pd.check_on_call("alice@example.com", ["Payments"])
        incident = await pd.create_incident(world.payments.id, "T", "D", "k")
        await pd.add_note(incident.id, "n")
        await pd.resolve_incident(incident.id)
    assert caplog.records
    assert not leaked(everything_logged(caplog))


def test_the_key_is_not_in_the_clients_repr(fake: FakePagerDuty) -> None:
    client = fake.sync_client(user_email=BOT_EMAIL)
    assert not leaked(repr(client))
    assert not leaked(repr(client._core.__dict__))
    client.close()


async def test_a_wrong_key_raises_unauthorized_without_showing_either_key(
    fake: FakePagerDuty,
) -> None:
    wrong = "wrong-" + API_KEY
    async with fake.client(api_key=wrong) as pd:
        with pytest.raises(Unauthorized) as caught:
            await pd.abilities()
    assert (caught.value.status, caught.value.code) == (401, 2006)
    text = everything_about(caught.value)
    assert not leaked(text)
    assert wrong not in text


class LeakyTransport(httpx.AsyncBaseTransport):
    """Fails with an error whose text quotes the Authorization header, as h11 would."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.LocalProtocolError(f"Illegal header value {request.headers['authorization']}")


async def test_a_transport_error_quoting_the_key_is_scrubbed_and_not_chained() -> None:
    async with AsyncPagerDutyClient(API_KEY, transport=LeakyTransport(),
                                    retry=RetryPolicy(max_attempts=1)) as pd:  # fmt: skip
        with pytest.raises(TransportError) as caught:
            await pd.abilities()
    assert "<redacted>" in str(caught.value)
    assert caught.value.__cause__ is None
    assert not leaked(everything_about(caught.value))


@pytest.mark.parametrize("bad_key", [API_KEY + "\n", " " + API_KEY, API_KEY + "é"])
def test_a_malformed_key_is_refused_without_echoing_it(bad_key: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        AsyncPagerDutyClient(bad_key)
    assert not leaked(everything_about(caught.value))


async def test_every_call_is_logged_at_debug_with_method_path_status_request_id_and_duration(
    client: AsyncPagerDutyClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pagerduty_client")
    await client.get_service(world.payments.id)
    [record] = [r for r in caplog.records if r.name == "pagerduty_client"]
    assert record.levelno == logging.DEBUG
    fields = {k: record.__dict__[k] for k in ("pd_method", "pd_path", "pd_status")}
    assert fields == {"pd_method": "GET", "pd_path": "/services/{id}", "pd_status": 200}
    assert len(record.__dict__["pd_request_id"]) == 32
    assert record.__dict__["pd_duration_ms"] >= 0
    assert world.payments.id not in record.getMessage()  # the template, not the concrete path


async def test_retries_are_logged_at_warning(
    fake: FakePagerDuty, client: AsyncPagerDutyClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="pagerduty_client")
    fake.fail_next(status=503)
    await client.abilities()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].__dict__["pd_status"] == 503
    assert "retrying" in warnings[0].getMessage()


async def test_a_final_failure_after_retries_is_logged_at_warning(
    fake: FakePagerDuty, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pagerduty_client")
    fake.fail_next(2, status=500)
    async with fake.client(clock=clock.monotonic, sleep=clock.sleep,
                           retry=RetryPolicy(max_attempts=2)) as pd:  # fmt: skip
        with pytest.raises(PagerDutyError):
            await pd.abilities()
    assert [r.getMessage().split(" failed")[0] for r in caplog.records] == [
        "PagerDuty GET /abilities attempt 1",
        "PagerDuty GET /abilities",
    ]
