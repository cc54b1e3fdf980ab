"""The committed scope table is what scripts/gen_scopes.py writes from the OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from pagerduty_client.testing import _openapi
from tests._scripts import ROOT, load_script

DOCUMENT = _openapi.discover()
needs_document = pytest.mark.skipif(DOCUMENT is None, reason="pagerduty-openapi.json not found")


def _gen_scopes() -> ModuleType:
    return load_script("gen_scopes")


@needs_document
def test_the_committed_scope_table_is_what_the_generator_writes() -> None:
    assert DOCUMENT is not None
    diff = _gen_scopes().stale_diff(DOCUMENT)
    assert diff == "", f"pagerduty_client/_scope_table.py is stale: run gen_scopes.py\n{diff}"


@needs_document
def test_a_hand_edit_of_the_table_shows_up_as_stale(tmp_path: Path) -> None:
    assert DOCUMENT is not None
    edited = tmp_path / "_scope_table.py"
    committed = (ROOT / "pagerduty_client" / "_scope_table.py").read_text()
    edited.write_text(committed.replace('"incidents.write"', '"incidents.read"', 1))
    assert "incidents.write" in _gen_scopes().stale_diff(DOCUMENT, edited)


def test_the_table_records_operations_without_a_scope_and_the_limited_ones() -> None:
    gen = _gen_scopes()
    document = {
        "paths": {
            "/a": {
                "get": {"x-pd-requires-scope": "a.read"},
                "post": {"x-pd-requires-scope": "a.write", "x-pd-operation-limit": True},
            },
            "/b/{id}": {"parameters": [], "delete": {}},
        }
    }
    scopes, limited = gen.table(document)
    assert scopes == {
        ("GET", "/a"): "a.read",
        ("POST", "/a"): "a.write",
        ("DELETE", "/b/{id}"): None,
    }
    assert limited == [("POST", "/a")]


def test_a_scope_that_is_not_a_string_stops_generation() -> None:
    gen = _gen_scopes()
    with pytest.raises(gen.GenerationError, match="is not a string"):
        gen.table({"paths": {"/a": {"get": {"x-pd-requires-scope": ["a.read"]}}}})
