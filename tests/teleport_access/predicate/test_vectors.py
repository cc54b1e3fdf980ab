"""Every vector of the shared reference file, computed with Teleport's own parser.

`expect` is the newest grammar (post-v18 master), which the library implements. Where the
reference also records Teleport's error text, the library's message must be that text (less the
outer "parsing expression: " wrapper and Go's "line:column: " position prefix, which the library
reports separately).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.teleport_access.predicate.helpers import (
    VECTORS_NAME,
    env_from_vector,
    find_shared,
    outcome,
)

_PATH = find_shared("reference", VECTORS_NAME)
_VECTORS: list[dict[str, Any]] = json.loads(_PATH.read_text()) if _PATH else []

pytestmark = pytest.mark.skipif(
    _PATH is None, reason=f"shared/reference/{VECTORS_NAME} not found above the working directory"
)


def _id(vector: dict[str, Any]) -> str:
    return " ".join(vector["expr"].split())[:60] or "<empty>"


@pytest.mark.parametrize("vector", _VECTORS, ids=[_id(v) for v in _VECTORS])
def test_vector_gives_teleports_answer(vector: dict[str, Any]) -> None:
    got, _ = outcome(vector["expr"], env_from_vector(vector["env"]))
    assert got == vector["expect"], vector["source"]


_WITH_MESSAGES = [v for v in _VECTORS if v.get("go_error")]


@pytest.mark.parametrize("vector", _WITH_MESSAGES, ids=[_id(v) for v in _WITH_MESSAGES])
def test_vector_error_message_is_teleports(vector: dict[str, Any]) -> None:
    _, problem = outcome(vector["expr"], env_from_vector(vector["env"]))
    expected = vector["go_error"].removeprefix("parsing expression: ")
    expected = re.sub(r"^\d+:\d+: ", "", expected)
    assert problem == expected


def test_the_shared_file_has_every_kind_of_outcome() -> None:
    kinds = {str(v["expect"]) for v in _VECTORS}
    assert kinds == {"True", "False", "parse_error", "eval_error"}
    assert len(_VECTORS) >= 98
