"""`tpd where check` answers patterns that stall backtracking engines at once (a real process).

The daemon evaluates a reviewer role's `where` on every pending request, and `request.reason` is
written by the requester, so a pattern like `^(a+)+$` against a crafted reason must not take
exponential time. This runs the CLI as a user would and bounds the whole run, start-up included.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

#: The old backtracking translation needed more than 20 s for 36 characters; RE2 needs
#: microseconds. The bound covers interpreter start-up on a busy machine.
_BOUND_SECONDS = 15.0


@pytest.mark.parametrize("pattern", ["^(a+)+$", "^(a|aa)*$"])
def test_where_check_answers_a_pathological_pattern_on_a_long_reason_at_once(pattern: str) -> None:
    request = json.dumps({"reason": "a" * 64 + "b"})
    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "teleport_pd_cli",
            "where",
            "check",
            f'regexp.match(request.reason, "{pattern}")',
            "--request",
            request,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    elapsed = time.perf_counter() - started
    assert result.returncode == 1, result.stderr  # 1: the expression is false
    assert "→  false" in result.stdout.splitlines()[0]
    assert elapsed < _BOUND_SECONDS
