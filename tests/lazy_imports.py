"""Checks of the libraries' lazy `__init__`s (PEP 562), shared by their import tests and the
application's layering test: what a fresh interpreter loads, and the `TYPE_CHECKING` imports
naming exactly what the lazy table imports on first use."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

#: Top-level packages the I/O side needs and the pure side must not load.
HEAVY = ("grpc", "cryptography", "httpx", "tomlkit")


def modules_loaded_by(statement: str) -> set[str]:
    """Top-level package names in sys.modules after `statement`, in a fresh interpreter."""
    code = (
        "import json, sys\n"
        f"{statement}\n"
        "print(json.dumps(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(result.stdout))


def assert_lazy_table_is_complete(package: ModuleType) -> None:
    """`package`'s `TYPE_CHECKING` imports (what type checkers read) name the same things, from
    the same modules, as its lazy table `_LAZY`, and every public name has a module."""
    source = Path(str(package.__file__)).read_text(encoding="utf-8")
    guarded = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    )
    imported: dict[str, set[str]] = {}
    for node in guarded.body:
        assert isinstance(node, ast.ImportFrom)
        assert node.module is not None
        module = node.module.removeprefix(f"{package.__name__}.")
        imported.setdefault(module, set()).update(alias.name for alias in node.names)
    lazy = {module: set(names) for module, names in package._LAZY.items()}
    assert imported == lazy
    assert sorted(package._MODULE_OF) == sorted(package.__all__)
