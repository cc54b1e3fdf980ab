"""The FakeProxy example in docs/connecting.md runs as written and prints what the doc says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_fake_proxy_example_in_the_connecting_guide_runs() -> None:
    text = (ROOT / "docs" / "connecting.md").read_text()
    found = re.search(
        r"## Testing against a fake Proxy\n.*?```python\n(.*?)```\n\nIt prints:\n\n```\n(.*?)```",
        text,
        re.S,
    )
    assert found is not None
    example, expected = found.groups()
    result = subprocess.run(
        [sys.executable, "-c", example],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
