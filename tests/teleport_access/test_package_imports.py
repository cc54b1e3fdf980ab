"""The package imports its public names on first use, so the models and `where` stay light."""

from __future__ import annotations

import pytest

import teleport_access
from tests.lazy_imports import HEAVY, assert_lazy_table_is_complete, modules_loaded_by


@pytest.mark.parametrize(
    "statement",
    [
        "import teleport_access",
        "from teleport_access import AccessRequest, RequestState",
        "from teleport_access import TeleportError, AccessDenied",
        "import teleport_access.where",
        "from teleport_access.where import parse, can_review, compile_role_pattern",
        "import teleport_access._models",
        "import teleport_access._exceptions",
    ],
)
def test_the_pure_side_loads_no_grpc_cryptography_httpx_or_tomlkit(statement: str) -> None:
    assert modules_loaded_by(statement).isdisjoint(HEAVY)


def test_the_client_still_arrives_on_first_use() -> None:
    loaded = modules_loaded_by("from teleport_access import AuthClient")
    assert {"grpc", "cryptography"} <= loaded


def test_a_lazily_imported_name_is_the_defining_modules_object() -> None:
    from teleport_access._client import AuthClient

    assert teleport_access.AuthClient is AuthClient
    assert "AuthClient" in dir(teleport_access)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="AcessRequest"):
        _ = teleport_access.AcessRequest  # type: ignore[attr-defined]


def test_the_type_checking_imports_and_the_lazy_table_name_the_same_things() -> None:
    assert_lazy_table_is_complete(teleport_access)
