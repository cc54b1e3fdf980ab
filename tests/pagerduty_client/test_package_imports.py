"""pagerduty_client imports its public names on first use, so its models, exceptions and scope
table load without httpx (the application's config derives its OAuth scopes from that table)."""

from __future__ import annotations

import pytest

import pagerduty_client
from tests.lazy_imports import assert_lazy_table_is_complete, modules_loaded_by


@pytest.mark.parametrize(
    "statement",
    [
        "import pagerduty_client",
        "from pagerduty_client import required_scopes, CLIENT_SCOPES, account_scope",
        "from pagerduty_client import Incident, Service, PagerDutyError, Forbidden",
    ],
)
def test_the_pure_side_loads_no_http_library(statement: str) -> None:
    loaded = modules_loaded_by(statement)
    assert loaded.isdisjoint({"httpx", "httpcore", "h11"})


def test_the_client_still_arrives_on_first_use() -> None:
    assert "httpx" in modules_loaded_by("from pagerduty_client import AsyncPagerDutyClient")


def test_a_lazily_imported_name_is_the_defining_modules_object() -> None:
    from pagerduty_client._client import AsyncPagerDutyClient

    assert pagerduty_client.AsyncPagerDutyClient is AsyncPagerDutyClient
    assert "AsyncPagerDutyClient" in dir(pagerduty_client)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="PagerDutyClinet"):
        _ = pagerduty_client.PagerDutyClinet  # type: ignore[attr-defined]


def test_the_type_checking_imports_and_the_lazy_table_name_the_same_things() -> None:
    assert_lazy_table_is_complete(pagerduty_client)
