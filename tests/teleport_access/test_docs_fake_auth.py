"""The runnable example in docs/testing-fake-auth.md runs as written."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_first_example_in_the_fake_auth_guide_runs() -> None:
    text = (ROOT / "docs" / "testing-fake-auth.md").read_text()
    example = re.search(r"## A first test\n\n```python\n(.*?)```", text, re.S)
    assert example is not None
    result = subprocess.run(
        [sys.executable, "-c", example.group(1)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "on call access-plugin"
