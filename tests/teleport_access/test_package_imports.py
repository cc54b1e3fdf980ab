"""The package imports its public names on first use, so the models and `where` stay light."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import teleport_access

#: Top-level packages the I/O side needs and the pure side must not load.
HEAVY = ("grpc", "cryptography", "httpx", "tomlkit")


def modules_loaded_by(statement: str) -> set[str]:
    """Top-level package names in sys.modules after `statement`, in a fresh interpreter."""
    code = (
        "import json, sys\n"
        f"{statement}\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout))


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
    source = Path(teleport_access.__file__).read_text()
    guarded = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported: dict[str, set[str]] = {}
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom)
        assert node.module is not None
        module = node.module.removeprefix("teleport_access.")
        imported.setdefault(module, set()).update(alias.name for alias in node.names)
    lazy = {module: set(names) for module, names in teleport_access._LAZY.items()}
    assert imported == lazy
    assert sorted(teleport_access._MODULE_OF) == sorted(teleport_access.__all__)
