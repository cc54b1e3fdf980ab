"""Regenerate pagerduty_client/_sync.py (`PagerDutyClient`) from pagerduty_client/_client.py.

    python scripts/gen_sync.py            # rewrite pagerduty_client/_sync.py
    python scripts/gen_sync.py --check    # exit 1 (and show the difference) if it is stale

`AsyncPagerDutyClient` is the source; its synchronous twin is derived from it, never edited:
1. unasync rewrites the code token by token: it drops `async` and `await`, maps the async
   protocol names (`__aenter__`, `AsyncIterator`, ...) and turns `AsyncName` into `SyncName`
   (which is why the sleep types are called `AsyncSleep` / `SyncSleep`). `TOKEN_RENAMES` adds
   the few names spelled otherwise.
2. unasync leaves prose alone, so `DOCSTRING_REWRITES` turns the few docstring phrases that
   differ, and `MODULE_DOCSTRING` (which says the file is generated) replaces the source's.
   Every rewrite must apply, and no async word may survive outside the module docstring: an
   edit of `_client.py` the tables do not cover stops generation instead of leaking into the
   twin.
3. ruff, with the project's settings, sorts the imports, turns `for x in xs: yield x` into
   `yield from xs` and formats the result, so the file reads like hand-written code; then ruff
   checks it with every project rule.

The output is deterministic for the pinned unasync and the installed ruff.
"""

from __future__ import annotations

import argparse
import difflib
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "pagerduty_client" / "_client.py"
TARGET = ROOT / "pagerduty_client" / "_sync.py"

#: Names unasync's own rules would not map (or would map to `SyncName`, which does not exist).
TOKEN_RENAMES = {
    "AsyncPagerDutyClient": "PagerDutyClient",
    "AsyncOAuthTokenProvider": "OAuthTokenProvider",
    "_AsyncDriver": "_SyncDriver",
    "AsyncClient": "Client",  # httpx
    "AsyncBaseTransport": "BaseTransport",  # httpx
    "aclose": "close",
    "asyncio": "time",  # the async client uses asyncio only for its default sleep
}

#: (async text, sync text) in docstrings and comments, applied after unasync; each must occur.
DOCSTRING_REWRITES = (
    (
        "client for asyncio. Safe to share between tasks.",
        "client, synchronous. Safe to share between threads.",
    ),
    (
        "For asyncio. Safe to share between tasks and clients (on one event loop).",
        "Synchronous. Safe to share between threads and clients.",
    ),
    ("async with AsyncPagerDutyClient(", "with PagerDutyClient("),  # the usage examples
    ("await ", ""),
    ("auth = AsyncOAuthTokenProvider(", "auth = OAuthTokenProvider("),
    ("an `AsyncOAuthTokenProvider`", "an `OAuthTokenProvider`"),
    ("auth must be an AsyncOAuthTokenProvider,", "auth must be an OAuthTokenProvider,"),
    ("as for `AsyncPagerDutyClient`", "as for `PagerDutyClient`"),
    ("`FakePagerDuty.async_transport()`", "`FakePagerDuty.sync_transport()`"),
    ("`sleep` (async) and", "`sleep` and"),
)

MODULE_DOCSTRING = '''\
"""`PagerDutyClient` and `OAuthTokenProvider`: the synchronous twins of `AsyncPagerDutyClient`
and `AsyncOAuthTokenProvider`, on `httpx.Client`.

Generated from `pagerduty_client/_client.py` by `scripts/gen_sync.py`: do not edit. Change
`_client.py` and run `python scripts/gen_sync.py` (a test fails while this file is stale).

Same methods, same arguments, same behaviour: both run the plans of `pagerduty_client._plans`
and `pagerduty_client._oauth`; this module only sends, sleeps, paces and takes its turn with a
lock, without an event loop. For scripts and threads (one client or provider may be shared
between threads).
"""
'''

_LEADING_DOCSTRING = re.compile(r'\A"""(?:[^"\\]|\\.|"(?!""))*"""\n')
# What must not survive the rewrite: async keywords, asyncio, and names of the async API.
_ASYNC_WORD = re.compile(r"\b(?:async\w*|await\w*|Async\w*|Awaitable\w*|aclose)\b")


class GenerationError(RuntimeError):
    """A tool is missing or failed, or the rewrite tables no longer cover the source."""


def _unasync(source: str) -> str:
    try:
        import unasync  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise GenerationError("unasync is not installed; install the dev extras") from exc
    # unasync's public API works on files: it writes <dir>/_async/x.py to <dir>/_sync/x.py.
    with tempfile.TemporaryDirectory(prefix="tpd-unasync-") as tmp:
        async_file = Path(tmp, "_async", SOURCE.name)
        async_file.parent.mkdir()
        async_file.write_text(source)
        rule = unasync.Rule("/_async/", "/_sync/", additional_replacements=TOKEN_RENAMES)
        unasync.unasync_files([str(async_file)], [rule])
        return Path(tmp, "_sync", SOURCE.name).read_text()


def _rewrite_prose(text: str) -> str:
    for old, new in DOCSTRING_REWRITES:
        if old not in text:
            raise GenerationError(
                f"{old!r} no longer occurs in {SOURCE.name}; update DOCSTRING_REWRITES"
            )
        text = text.replace(old, new)
    return text


def _replace_module_docstring(text: str) -> str:
    match = _LEADING_DOCSTRING.match(text)
    if match is None:
        raise GenerationError(f"{SOURCE.name} must start with its module docstring")
    return MODULE_DOCSTRING + text[match.end() :]


def _check_no_async_left(text: str) -> None:
    body_start = len(MODULE_DOCSTRING)
    for number, line in enumerate(text[body_start:].splitlines(), start=1):
        if found := _ASYNC_WORD.search(line):
            line_no = MODULE_DOCSTRING.count("\n") + number
            raise GenerationError(
                f"{found.group()!r} survived the rewrite (generated line {line_no}: "
                f"{line.strip()!r}); add a rule to TOKEN_RENAMES or DOCSTRING_REWRITES"
            )


def _ruff(*args: str, text: str) -> str:
    """Run ruff on `text` as if it were the target file, so the project's settings apply."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if result.returncode != 0:
        raise GenerationError(
            f"ruff {' '.join(args)} failed ({result.returncode}) on the generated "
            f"module:\n{result.stdout}{result.stderr}"
        )
    return result.stdout


def generate(source: str | None = None) -> str:
    """The text of `_sync.py` for this `_client.py` source (default: the file on disk)."""
    text = _unasync(SOURCE.read_text() if source is None else source)
    text = _replace_module_docstring(_rewrite_prose(text))
    _check_no_async_left(text)
    # Only the fixes the rewrite calls for: import order (names are renamed in place) and
    # `yield from` (not allowed in async generators). UP028 counts as unsafe because `yield from`
    # also forwards send() and throw(); over a list, as here, that changes nothing.
    text = _ruff("check", "--fix-only", "--unsafe-fixes", "--select", "I,UP028", text=text)
    text = _ruff("format", "--quiet", text=text)
    _ruff("check", "--quiet", text=text)  # what is left unfixed fails here, naming the rule
    return text


def stale_diff(target: Path = TARGET) -> str:
    """A unified diff from the committed file to what would be generated; "" if current."""
    committed = target.read_text() if target.exists() else ""
    fresh = generate()
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
    args = parser.parse_args(argv)
    try:
        if args.check:
            diff = stale_diff()
            if diff:
                print(diff, end="", file=sys.stderr)
                print(f"{TARGET.relative_to(ROOT)} is stale", file=sys.stderr)
                print("run: python scripts/gen_sync.py", file=sys.stderr)
                return 1
            print(f"{TARGET.relative_to(ROOT)} is up to date")
            return 0
        TARGET.write_text(generate())
        print(TARGET.relative_to(ROOT))
        return 0
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
