"""The docs that point newcomers at `tpd demo`: docs/index.md, docs/guide.md and README.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def links(text: str) -> set[str]:
    return {target.split("#")[0] for target in re.findall(r"\]\(([^)\s]+)\)", text)}


def test_docs_index_links_every_doc() -> None:
    linked = links((DOCS / "index.md").read_text(encoding="utf-8"))
    documents = {path.name for path in DOCS.glob("*.md")} - {"index.md"}
    assert documents - linked == set(), "docs/index.md must link every document in docs/"


def test_docs_index_links_only_existing_docs() -> None:
    linked = links((DOCS / "index.md").read_text(encoding="utf-8"))
    assert {name for name in linked if not (DOCS / name).is_file()} == set()


def test_the_guide_has_the_eight_steps_in_order() -> None:
    text = (DOCS / "guide.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## Step (\d)/8\. ", text, flags=re.MULTILINE)
    assert headings == [str(n) for n in range(1, 9)]


def test_the_guide_offers_the_demo_before_the_steps() -> None:
    text = (DOCS / "guide.md").read_text(encoding="utf-8")
    assert text.index("tpd demo") < text.index("## Step 1/8")


def test_the_guides_local_links_exist() -> None:
    text = (DOCS / "guide.md").read_text(encoding="utf-8")
    local = {name for name in links(text) if "://" not in name}
    assert local
    assert {name for name in local if not (DOCS / name).is_file()} == set()


def test_readmes_first_command_runs_the_demo() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, re.S)
    assert block is not None
    first = block.group(1).splitlines()[0]
    assert first == "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/tpd demo"
