"""Regenerate pagerduty_client/_scope_table.py from PagerDuty's OpenAPI document.

    python scripts/gen_scopes.py            # rewrite pagerduty_client/_scope_table.py
    python scripts/gen_scopes.py --check    # exit 1 (and show the difference) if it is stale
    python scripts/gen_scopes.py --openapi PATH   # a document elsewhere

Every operation of the document names the Scoped OAuth scope it needs in `x-pd-requires-scope`
(some, such as the v3 schedules and automation actions, name none), and marks an operation with
a rate limit of its own with `x-pd-operation-limit: true`. The library ships what it needs of
that as a plain table, keyed by (method, path template), so it never reads the 2.7 MB document
at run time; this script is the one place the table comes from. The document is found as the
fake PagerDuty finds it (`$PAGERDUTY_OPENAPI`, else `shared/pagerduty-openapi.json` above the
working directory or this repository). The output is deterministic: sorted, formatted by ruff.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "pagerduty_client" / "_scope_table.py"
DOCUMENT_NAME = "pagerduty-openapi.json"
ENV_VAR = "PAGERDUTY_OPENAPI"
_METHODS = ("get", "put", "post", "delete", "patch")

HEADER = '''\
"""Which Scoped OAuth scope each PagerDuty REST operation needs, and which have their own limit.

Generated from PagerDuty's OpenAPI document (`x-pd-requires-scope`, `x-pd-operation-limit`) by
`scripts/gen_scopes.py`: do not edit. Run `python scripts/gen_scopes.py` after the document
changes (a test fails while this file is stale). Read it through `pagerduty_client._scopes`.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["OPERATION_LIMITED", "REQUIRED_SCOPE"]

'''


class GenerationError(RuntimeError):
    """The document is missing or not what this script understands."""


def find_document(given: str | None = None) -> Path:
    if given:
        path = Path(given).expanduser()
    elif os.environ.get(ENV_VAR, "").strip().lower() not in ("", "0", "off", "false", "no"):
        path = Path(os.environ[ENV_VAR]).expanduser()
    else:
        for directory in (Path.cwd(), *Path.cwd().parents, ROOT, *ROOT.parents):
            candidate = directory / "shared" / DOCUMENT_NAME
            if candidate.is_file():
                path = candidate
                break
        else:
            raise GenerationError(
                f"PagerDuty's OpenAPI document was not found: pass --openapi, set ${ENV_VAR}, "
                f"or put it at shared/{DOCUMENT_NAME} above the working directory"
            )
    if not path.is_file():
        raise GenerationError(f"{path} is not a file")
    return path


def table(
    document: dict[str, Any],
) -> tuple[dict[tuple[str, str], str | None], list[tuple[str, str]]]:
    """(method, template) -> scope (None: the document names none), and the sorted operations
    with a limit of their own."""
    scopes: dict[tuple[str, str], str | None] = {}
    limited: list[tuple[str, str]] = []
    for template, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in _METHODS or not isinstance(operation, dict):
                continue
            key = (method.upper(), template)
            scope = operation.get("x-pd-requires-scope")
            if scope is not None and (not isinstance(scope, str) or not scope):
                raise GenerationError(f"{key}: x-pd-requires-scope is not a string: {scope!r}")
            scopes[key] = scope
            if operation.get("x-pd-operation-limit") is True:
                limited.append(key)
    return dict(sorted(scopes.items(), key=lambda kv: (kv[0][1], kv[0][0]))), sorted(
        limited, key=lambda k: (k[1], k[0])
    )


def render(document: dict[str, Any], source_name: str) -> str:
    scopes, limited = table(document)
    version = document.get("info", {}).get("version", "?")
    named = sum(scope is not None for scope in scopes.values())
    lines = [
        HEADER,
        "#: (method, path template) -> the scope PagerDuty requires, for every operation of",
        f"#: {source_name} version {version} ({len(scopes)} operations; None for the",
        f"#: {len(scopes) - named} that name no scope).",
        "REQUIRED_SCOPE: Mapping[tuple[str, str], str | None] = {",
    ]
    lines += [
        f"    ({method!r}, {template!r}): {scope!r},"
        for (method, template), scope in scopes.items()
    ]
    lines += [
        "}",
        "",
        "#: Operations with a rate limit of their own, below the account-wide one.",
        "OPERATION_LIMITED: frozenset[tuple[str, str]] = frozenset(",
        "    {",
    ]
    lines += [f"        ({method!r}, {template!r})," for method, template in limited]
    lines += ["    }", ")", ""]
    return _ruff_format("\n".join(lines))


def _ruff_format(text: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--quiet", "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise GenerationError(f"ruff format failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def generate(document_path: Path) -> str:
    with document_path.open("rb") as handle:
        document = json.load(handle)
    return render(document, DOCUMENT_NAME)


def stale_diff(document_path: Path, target: Path = TARGET) -> str:
    """A unified diff from the committed table to what would be generated; "" if current."""
    committed = target.read_text() if target.exists() else ""
    fresh = generate(document_path)
    return "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            fresh.splitlines(keepends=True),
            fromfile=f"{target.name} (committed)",
            tofile=f"{target.name} (generated)",
        )
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail if the committed file is stale")
    parser.add_argument("--openapi", help="the OpenAPI document (default: found as described)")
    args = parser.parse_args(argv)
    try:
        document = find_document(args.openapi)
        if args.check:
            diff = stale_diff(document)
            if diff:
                print(diff, end="", file=sys.stderr)
                print(f"{TARGET.relative_to(ROOT)} is stale", file=sys.stderr)
                print("run: python scripts/gen_scopes.py", file=sys.stderr)
                return 1
            print(f"{TARGET.relative_to(ROOT)} is up to date")
            return 0
        TARGET.write_text(generate(document))
        print(TARGET.relative_to(ROOT))
        return 0
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
