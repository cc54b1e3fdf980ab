"""Project-level promises: README set-up commands, CI, typing markers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["teleport_access", "pagerduty_client", "teleport_pd_cli"]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block is not None, "README must start with a bash block of set-up commands"
    assert text.index("```bash") < 200, "the set-up commands must be README's first lines"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_gives_exactly_two_setup_commands() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert all(c.startswith("python3 -m venv .venv && ") for c in commands)


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = readme_commands()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


@pytest.mark.parametrize("package", PACKAGES)
def test_package_ships_py_typed(package: str) -> None:
    assert (ROOT / package / "py.typed").is_file()


@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_are_sorted_and_exist(package: str) -> None:
    module = __import__(package)
    names = list(module.__all__)
    assert names == sorted(names)
    for name in names:
        assert hasattr(module, name), name
