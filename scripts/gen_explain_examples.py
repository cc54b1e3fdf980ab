"""Regenerate the `tpd explain` examples of docs/troubleshooting.md from real runs.

    python scripts/gen_explain_examples.py            # rewrite the examples in place
    python scripts/gen_explain_examples.py --check    # exit 1 (and show the difference) if the
                                                      # page no longer shows what explain prints

Each example is the fenced block right after a `<!-- explain-example: NAME -->` line, where NAME
is a case of tests/teleport_pd_cli/explain_world.py (the cases of the e2e security suite). The
script sets the case up in a fresh world (the fake Auth Service and the fake PagerDuty on
127.0.0.1), runs `tpd explain` on its request and puts the command and its output in the block.
Request ids, PagerDuty ids and times differ between runs; `--check` (and the test that calls
`differences`) compares the page with them replaced by placeholders.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "troubleshooting.md"
_BLOCK = re.compile(r"(<!-- explain-example: ([\w-]+) -->\n```text\n)(.*?)(```)", re.S)


def _import_tests() -> None:
    # The cases and the fakes' world live with the tests.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def examples() -> dict[str, str]:
    """What `tpd explain` prints for each case: the command line, then its output."""
    _import_tests()
    from tests.teleport_pd_cli.explain_world import CASES, make_world

    outputs: dict[str, str] = {}
    for name, case in CASES.items():
        with tempfile.TemporaryDirectory() as directory, make_world(Path(directory)) as world:
            request = case.setup(world)
            result = world.explain(request.id)
            expected = 0 if case.failed_check is None else 1
            if result.exit_code != expected:
                raise RuntimeError(f"{name}: exit status {result.exit_code}\n{result.output}")
            command = f"$ tpd explain {request.id} -c /etc/teleport-pagerduty.toml\n"
            outputs[name] = command + result.output
    return outputs


def shown(text: str) -> dict[str, str]:
    """The examples the page shows, by case name."""
    return {match.group(2): match.group(3) for match in _BLOCK.finditer(text)}


def replace_examples(text: str, outputs: dict[str, str]) -> str:
    """The page with each example block replaced by its case's output."""

    def block(match: re.Match[str]) -> str:
        return match.group(1) + outputs[match.group(2)] + match.group(4)

    return _BLOCK.sub(block, text)


def differences(text: str, outputs: dict[str, str]) -> list[str]:
    """Where the page differs from `outputs`, ids and times aside (a unified diff per case)."""
    _import_tests()
    from tests.teleport_pd_cli.explain_world import normalized

    found: list[str] = []
    page = shown(text)
    for name in sorted(set(page) | set(outputs)):
        old = normalized(page.get(name, "")).splitlines()
        new = normalized(outputs.get(name, "")).splitlines()
        if old != new:
            diff = difflib.unified_diff(old, new, f"page: {name}", f"tpd explain: {name}", n=1)
            found.append("\n".join(diff))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    args = parser.parse_args()
    text = PAGE.read_text(encoding="utf-8")
    outputs = examples()
    if args.check:
        problems = differences(text, outputs)
        for problem in problems:
            print(problem)
        return 1 if problems else 0
    PAGE.write_text(replace_examples(text, outputs), encoding="utf-8")
    print(f"Wrote {len(shown(text))} examples to {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
