"""The committed `_sync.py` is what scripts/gen_sync.py writes from `_client.py` today."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

import pagerduty_client._sync
from tests._scripts import ROOT, load_script

REGENERATE = "python scripts/gen_sync.py"


def _gen_sync_module() -> ModuleType:
    pytest.importorskip("unasync", reason="unasync (dev extra) is needed to regenerate")
    return load_script("gen_sync")


def _async_source() -> str:
    return (ROOT / "pagerduty_client" / "_client.py").read_text()


def test_the_committed_sync_client_is_what_the_generator_writes() -> None:
    diff = _gen_sync_module().stale_diff()
    assert diff == "", f"pagerduty_client/_sync.py is stale: run `{REGENERATE}`\n{diff}"


def test_a_hand_edit_of_the_sync_client_shows_up_as_stale(tmp_path: Path) -> None:
    gen = _gen_sync_module()
    edited = tmp_path / "_sync.py"
    committed = (ROOT / "pagerduty_client" / "_sync.py").read_text()
    edited.write_text(committed.replace("timeout: float = 10.0,", "timeout: float = 30.0,"))
    diff = gen.stale_diff(edited)
    assert "-        timeout: float = 30.0,\n+        timeout: float = 10.0,\n" in diff


def test_the_generated_module_says_it_is_generated_and_from_what() -> None:
    assert pagerduty_client._sync.__doc__ is not None
    assert (
        "Generated from `pagerduty_client/_client.py` by `scripts/gen_sync.py`: do not edit"
        in pagerduty_client._sync.__doc__
    )


def test_an_async_name_that_no_rule_maps_stops_generation() -> None:
    gen = _gen_sync_module()
    source = _async_source().replace(
        "sleep: AsyncSleep | None = None,",
        "sleep: Callable[[float], Awaitable[None]] | None = None,",
    )
    with pytest.raises(
        gen.GenerationError, match=r"'Awaitable' survived the rewrite.*TOKEN_RENAMES"
    ):
        gen.generate(source)


def test_a_reworded_docstring_phrase_stops_generation() -> None:
    gen = _gen_sync_module()
    source = _async_source().replace("Safe to share between tasks.", "Safe to share among tasks.")
    with pytest.raises(gen.GenerationError, match=r"no longer occurs.*DOCSTRING_REWRITES"):
        gen.generate(source)
