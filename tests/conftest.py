"""Options shared by the whole suite."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--teleport-route",
        choices=("both", "auth", "proxy"),
        default="both",
        help=(
            "how the end-to-end tests' tpd reaches the fake Teleport: directly at the Auth "
            "Service, through the fake Proxy (TLS routing), or each test both ways (default)"
        ),
    )
