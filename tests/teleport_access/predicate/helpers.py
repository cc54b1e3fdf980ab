"""Shared helpers of the predicate tests: environments from the vector format, and outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from teleport_access.predicate import (
    Environment,
    PredicateEvalError,
    PredicateParseError,
    parse,
)

VECTORS_NAME = "access-monitoring-rules-vectors.json"


def find_shared(*parts: str) -> Path | None:
    """`shared/<parts>` in the working directory, the tests' directory, or any of their parents."""
    for base in (Path.cwd(), Path(__file__).resolve().parent):
        for directory in (base, *base.parents):
            candidate = directory.joinpath("shared", *parts)
            if candidate.is_file():
                return candidate
    return None


def rfc3339(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def env_from_vector(env: Mapping[str, Any]) -> Environment:
    """The Environment of a vector's `env` (the shared file's format)."""
    return Environment(
        roles=env.get("roles", ()),
        suggested_reviewers=env.get("suggested_reviewers", ()),
        system_annotations=env.get("system_annotations", {}),
        user=env.get("user", ""),
        request_reason=env.get("request_reason", ""),
        user_traits=env.get("user_traits", {}),
        creation_time=rfc3339(env.get("creation_time")),
        expiry=rfc3339(env.get("expiry")),
        resource_labels=env.get("requested_resource_labels", ()),
    )


def outcome(text: str, env: Environment) -> tuple[object, str | None]:
    """(True | False | "parse_error" | "eval_error", the error's problem text)."""
    try:
        expr = parse(text)
    except PredicateParseError as exc:
        return "parse_error", exc.problem
    try:
        return expr.matches(env), None
    except PredicateEvalError as exc:
        return "eval_error", exc.problem
