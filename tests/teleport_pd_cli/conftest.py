"""The end-to-end suite's fixtures, for the tests here that run `tpd run` against the fakes
(metrics, the Grafana dashboard): `fake_auth`, `teleport_address`, `pagerduty`,
`identity_path`, `page_when_approved` and `start_tpd`. Outside tests/e2e they are not
parametrized: Auth Service route, default paging mode."""

from __future__ import annotations

from tests.e2e.conftest import (
    fake_auth,
    identity_path,
    page_when_approved,
    pagerduty,
    start_tpd,
    teleport_address,
)

__all__ = [
    "fake_auth",
    "identity_path",
    "page_when_approved",
    "pagerduty",
    "start_tpd",
    "teleport_address",
]
