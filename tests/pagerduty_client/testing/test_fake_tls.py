"""The fake serves HTTPS with a test CA that any client can be told to trust (`ca_file`)."""

from __future__ import annotations

import ssl

import httpx
import pytest

from pagerduty_client import ConfigurationError, PagerDutyClient, RetryPolicy, TransportError
from pagerduty_client.testing import FakePagerDuty
from tests.pagerduty_client.conftest import API_KEY, BOT_EMAIL


def test_the_thread_server_serves_https_that_the_ca_file_verifies(fake: FakePagerDuty) -> None:
    with fake.serve_in_thread(tls=True) as url:
        assert url.startswith("https://127.0.0.1:")
        with PagerDutyClient(API_KEY, base_url=url, verify=fake.ca_file) as pd:
            assert pd.find_user_by_email(BOT_EMAIL) is not None


async def test_the_async_server_serves_https_with_the_token_endpoint(
    fake: FakePagerDuty,
) -> None:
    fake.add_oauth_client("app", "secret")
    async with fake.serve(tls=True) as url:
        auth = fake.oauth_provider(
            "app", "secret", token_url=fake.token_url(url), transport=None, verify=str(fake.ca_file)
        )
        async with fake.client(auth=auth, base_url=url, transport=None,
                               verify=str(fake.ca_file)) as pd:  # fmt: skip
            assert await pd.abilities()
    assert [r.operation for r in fake.requests] == ["/oauth/token", "/abilities"]


def test_a_client_that_does_not_trust_the_ca_cannot_connect(fake: FakePagerDuty) -> None:
    once = RetryPolicy(max_attempts=1)
    with (
        fake.serve_in_thread(tls=True) as url,
        PagerDutyClient(API_KEY, base_url=url, retry=once) as pd,
        pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        pd.abilities()


def test_a_ca_bundle_that_cannot_be_read_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="cannot load the CA bundle"):
        PagerDutyClient(API_KEY, verify="/nonexistent/ca.pem")


def test_the_certificate_names_localhost_as_well(fake: FakePagerDuty) -> None:
    with fake.serve_in_thread(tls=True) as url:
        context = ssl.create_default_context(cafile=str(fake.ca_file))
        local = url.replace("127.0.0.1", "localhost")
        headers = {"Authorization": f"Token token={API_KEY}",
                   "Accept": "application/vnd.pagerduty+json;version=2"}  # fmt: skip
        with httpx.Client(verify=context) as http:
            assert http.get(f"{local}/abilities", headers=headers).status_code == 200


def test_plain_http_is_still_the_default(fake: FakePagerDuty) -> None:
    with fake.serve_in_thread() as url:
        assert url.startswith("http://127.0.0.1:")
