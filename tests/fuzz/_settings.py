"""Shared settings of the fuzz suite: enough examples to find shallow crashes, bounded so the
whole suite runs in well under a minute on a busy two-core machine."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, settings

#: A generous deadline catches a hang or a blow-up without flaking on a busy machine.
FUZZ = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
