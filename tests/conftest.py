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
    parser.addoption(
        "--page-when-approved",
        choices=("auto", "true", "false", "both"),
        default="auto",
        help=(
            "[pagerduty.auto_approval] page_when_approved for the end-to-end tests' tpd: each "
            "test marked paging_modes both ways and the rest with the default, true (auto, the "
            "default); or every test that way (true, false) or both ways (both)"
        ),
    )
