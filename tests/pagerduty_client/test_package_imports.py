"""pagerduty_client imports its public names on first use, so its models, exceptions and scope
table load without httpx (the application's config derives its OAuth scopes from that table)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pagerduty_client
from tests.teleport_access.test_package_imports import modules_loaded_by


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
    source = Path(pagerduty_client.__file__).read_text()
    guarded = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported: dict[str, set[str]] = {}
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom)
        assert node.module is not None
        module = node.module.removeprefix("pagerduty_client.")
        imported.setdefault(module, set()).update(alias.name for alias in node.names)
    lazy = {module: set(names) for module, names in pagerduty_client._LAZY.items()}
    assert imported == lazy
    assert sorted(pagerduty_client._MODULE_OF) == sorted(pagerduty_client.__all__)
