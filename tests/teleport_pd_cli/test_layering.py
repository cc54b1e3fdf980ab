"""The application's pure layers stay light: the policy and the config types load no gRPC, TLS,
HTTP or TOML-writing library (the import-linter contracts check the import graph; this checks
what an interpreter really loads, package `__init__`s included)."""

from __future__ import annotations

import pytest

from tests.lazy_imports import HEAVY, modules_loaded_by


@pytest.mark.parametrize(
    "statement",
    [
        "import teleport_pd_cli.policy",
        "from teleport_pd_cli.policy import plan, decide_approval, PolicySettings",
        "import teleport_pd_cli.config",
        "from teleport_pd_cli.config import parse_config",
    ],
)
def test_the_pure_layers_load_no_io_library(statement: str) -> None:
    loaded = modules_loaded_by(statement)
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    assert "google" not in loaded  # protobuf: the wire stays at teleport_access's edge
