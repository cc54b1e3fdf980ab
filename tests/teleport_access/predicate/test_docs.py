"""docs/predicate.md stays true: its first example runs, and its tables name every variable,
function and method of the language (and nothing else)."""

from __future__ import annotations

import re
from pathlib import Path

from teleport_access.predicate._builtins import FUNCTIONS, METHODS
from teleport_access.predicate._checker import VARIABLES

DOC = Path(__file__).resolve().parents[3] / "docs" / "predicate.md"


def _section(title: str) -> str:
    text = DOC.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end]


def test_the_first_example_runs() -> None:
    block = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert block is not None
    code = block.group(1).replace("print(", "str(")
    namespace: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    assert namespace["expr"].matches(namespace["env"])  # type: ignore[attr-defined]


def test_every_function_is_documented() -> None:
    rows = re.findall(r"^\| `([a-zA-Z_.0-9]+)\(", _section("Functions"), re.M)
    named = set(rows) | set(re.findall(r"`([a-zA-Z_.0-9]+)\(", _section("Functions")))
    assert set(FUNCTIONS) <= named
    assert set(rows) <= set(FUNCTIONS)


def test_every_method_is_documented() -> None:
    rows = re.findall(r"^\| (`\..*?) \|", _section("Methods"), re.M)
    named = {name for row in rows for name in re.findall(r"`\.([a-z_]+)\(", row)}
    assert named == set(METHODS)


def test_every_variable_is_documented() -> None:
    named = set(re.findall(r"^\| `([a-z_.]+)`", _section("Variables"), re.M))
    assert named == {*VARIABLES, "true"}
