"""docs/troubleshooting.md starts with `tpd explain` and shows, for every case of the e2e
security suite, what explain really prints (ids and times aside); the docs link to it."""

from __future__ import annotations

import re
from pathlib import Path

from tests._scripts import load_script
from tests.teleport_pd_cli.explain_world import CASES

DOCS = Path(__file__).resolve().parents[2] / "docs"
PAGE = DOCS / "troubleshooting.md"


def test_the_page_shows_what_explain_prints_for_every_case() -> None:
    script = load_script("gen_explain_examples")
    text = PAGE.read_text(encoding="utf-8")
    assert script.differences(text, script.examples()) == []


def test_the_page_has_one_example_of_each_verdict() -> None:
    script = load_script("gen_explain_examples")
    shown = script.shown(PAGE.read_text(encoding="utf-8"))
    assert list(shown) == list(CASES)
    for name, case in CASES.items():
        last = shown[name].rstrip("\n").splitlines()[-1]
        assert last.startswith(
            "Verdict: would approve now"
            if case.failed_check is None
            else (f"Verdict: would not approve now ({case.failed_check})")
        )


def test_the_page_starts_with_tpd_explain() -> None:
    text = PAGE.read_text(encoding="utf-8")
    first_section = re.search(r"^## (.+)$", text, re.M)
    assert first_section is not None
    assert first_section.group(1) == "Start with `tpd explain`"


def test_the_index_and_the_operations_troubleshooting_link_the_page() -> None:
    assert "(troubleshooting.md)" in (DOCS / "index.md").read_text(encoding="utf-8")
    operations = (DOCS / "operations.md").read_text(encoding="utf-8")
    section = operations[operations.index("## Troubleshooting by log message") :]
    assert "(troubleshooting.md)" in section.split("\n## ", 1)[0]


def test_every_check_of_the_table_is_a_check_explain_makes() -> None:
    from teleport_pd_cli.policy import APPROVAL_CHECKS
    from teleport_pd_cli.tools.explain import REVIEW_PERMISSION

    text = PAGE.read_text(encoding="utf-8")
    table = re.findall(r"^\| `(\w+)` \|", text, re.M)
    assert table == [*APPROVAL_CHECKS, REVIEW_PERMISSION]
