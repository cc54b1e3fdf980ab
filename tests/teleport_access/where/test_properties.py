"""Property tests: robustness on any text, normalisation round trips, and agreement with a naive
reference interpreter written here independently of the implementation."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teleport_access.where import (
    Context,
    Dialect,
    ExpressionKind,
    Request,
    Review,
    Reviewer,
    WhereEvalError,
    WhereSyntaxError,
    WhereTypeError,
    parse,
)

# Generous deadline: it catches a hang or exponential blow-up without flaking on busy machines.
ROBUST = settings(
    max_examples=400, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow]
)

TOKENS = [
    "contains", "equals", "regexp.match", "regexp", ".", "match", "reviewer", "request",
    "review", "roles", "traits", "reason", "system_annotations", "annotations", "(", ")", "[",
    "]", ",", "!", "&&", "||", "==", "!=", '"x"', '"^a(b$"', '"*"', "`raw`", "1", "0.5", "'c'",
    "\n", " ", "//c\n", "/*c*/", "{", "}", "-", "+", "func", "true", "\\", '"\\x', "é", "\t",
    "...", ":", ";", "=",
]  # fmt: skip

grammar_soup = st.lists(st.sampled_from(TOKENS), max_size=30).map("".join)
any_text = st.one_of(st.text(max_size=80), grammar_soup)


def check_parsed(text: str, kind: str, dialect: str) -> None:
    try:
        expr = parse(text, kind, dialect)  # type: ignore[arg-type]
    except (WhereSyntaxError, WhereTypeError) as exc:
        error: WhereSyntaxError | WhereTypeError = exc
    else:
        assert parse(str(expr), kind, dialect) == expr  # type: ignore[arg-type]
        with contextlib.suppress(WhereEvalError):
            assert expr.evaluate(Context()) in (True, False)
        assert str(expr.explain(Context()))
        return
    assert str(error)  # the message renders, whatever the text
    assert error.line >= 1
    assert error.column >= 1


@ROBUST
@given(text=any_text, kind=st.sampled_from(["where", "filter"]))
def test_any_text_parses_or_raises_a_where_parse_error_only(text: str, kind: str) -> None:
    check_parsed(text, kind, "typical")


@ROBUST
@given(text=any_text)
def test_any_text_in_the_legacy_dialect_parses_or_raises_a_where_parse_error_only(
    text: str,
) -> None:
    check_parsed(text, "filter", "legacy")


# -- generated expressions and a reference interpreter ---------------------------------------

ROLE_VALUES = ["dev", "ops", "developers", "x", "", "a*b", "dev\n", "DEV", "é"]
KEYS = ["team", "a.b", "my-team", "type", "k"]
REASONS = ["", "x", "dev", "good reason", "^(a$", "*o*", "dev\n"]

#: regexp.match patterns with what they mean, written out by hand (None: invalid in Go).
PATTERNS: dict[str, Callable[[str], bool] | None] = {
    "dev": lambda s: s == "dev",
    "*": lambda s: "\n" not in s,
    "d*": lambda s: s.startswith("d") and "\n" not in s,
    "*o*": lambda s: "o" in s and "\n" not in s,
    "a*b": lambda s: s.startswith("a") and s.endswith("b") and "\n" not in s,
    "a.b": lambda s: s == "a.b",
    "^dev(elopers)?$": lambda s: s in ("dev", "developers"),
    "^[a-z]+$": lambda s: s != "" and all("a" <= c <= "z" for c in s),
    "^x|s$": lambda s: s.startswith("x") or s.endswith("s"),
    "^(?i)dev$": lambda s: s.lower() == "dev",
    "^dev$": lambda s: s == "dev",
    "^.*$": lambda s: "\n" not in s,
    "^\\w+$": lambda s: s != "" and all(c.isascii() and (c.isalnum() or c == "_") for c in s),
    "^(unclosed$": None,
    "^a**$": None,
    "^(?=a)$": None,
}

Ast = tuple[Any, ...]


class RefError(Exception):
    pass


def ref_eval(node: Ast, ctx: Context, legacy: bool) -> Any:
    """A deliberately naive interpreter of the test's own tree."""
    op = node[0]
    if op == "lit":
        return node[1]
    if op == "var":
        obj: Any = ctx
        for part in node[1].split("."):
            obj = getattr(obj, part)
        return list(obj) if isinstance(obj, tuple) else obj
    if op == "index":
        mapping = ref_eval(node[1], ctx, legacy)
        return list(mapping.get(ref_eval(node[2], ctx, legacy), []))
    if op == "not":
        return not ref_eval(node[1], ctx, legacy)
    if op == "and":
        return all(ref_eval(child, ctx, legacy) for child in node[1])  # all() stops early too
    if op == "or":
        return any(ref_eval(child, ctx, legacy) for child in node[1])
    if op in ("==", "!="):
        same = ref_eval(node[1], ctx, legacy) == ref_eval(node[2], ctx, legacy)
        return same if op == "==" else not same
    a = ref_eval(node[1], ctx, legacy)
    b = ref_eval(node[2], ctx, legacy)
    if op == "equals":
        if type(a) is not type(b):
            if legacy:
                return False
            raise RefError("types")
        return a == b
    if op == "contains":
        if isinstance(a, str):
            if legacy:
                return False
            a = [a]
        return b in a
    assert op == "regexp.match"
    values = [a] if isinstance(a, str) else a
    predicate = PATTERNS.get(b)
    if predicate is None:
        raise RefError("pattern")
    return any(predicate(v) for v in values)


GO_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
GO_KEYWORDS = {"type", "func", "map", "range", "if", "for"}


def go_quote(draw: st.DrawFn, value: str) -> str:
    """Spell a string literal some random valid Go way."""
    if "`" not in value and "\r" not in value and draw(st.booleans()):
        return f"`{value}`"
    out = []
    for c in value:
        style = draw(st.integers(0, 3))
        if c in '"\\' or c == "\n":
            out.append({"\n": "\\n", '"': '\\"', "\\": "\\\\"}[c])
        elif style == 0 and ord(c) < 0x80:
            out.append(f"\\x{ord(c):02x}")
        elif style == 1:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def spaced(draw: st.DrawFn, text: str) -> str:
    left = draw(st.sampled_from(["", " ", "  ", "\t", "/*c*/"]))
    right = draw(st.sampled_from(["", " ", "\t"]))
    text = left + text + right
    if draw(st.integers(0, 5)) == 0:
        text = f"({text})"
    return text


def string_expr(draw: st.DrawFn, filter_kind: bool) -> tuple[Ast, str]:
    choice = draw(st.integers(0, 3 if filter_kind else 2))
    if choice <= 1:
        value = draw(st.sampled_from(ROLE_VALUES + REASONS + list(PATTERNS)))
        return ("lit", value), go_quote(draw, value)
    name = "review.reason" if choice == 3 else "request.reason"
    return ("var", name), name


def list_expr(draw: st.DrawFn, filter_kind: bool, legacy: bool) -> tuple[Ast, str]:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        name = draw(st.sampled_from(["reviewer.roles", "request.roles"]))
        return ("var", name), name
    maps = ["reviewer.traits", "request.system_annotations"]
    if filter_kind:
        maps.append("review.annotations")
    base = draw(st.sampled_from(maps))
    if choice == 1:
        key_ast, key_text = string_expr(draw, filter_kind)
    else:
        key = draw(st.sampled_from(KEYS))
        key_ast = ("lit", key)
        if not legacy and GO_NAME.fullmatch(key) and key not in GO_KEYWORDS and choice == 2:
            return ("index", ("var", base), key_ast), f"{base}.{key}"
        key_text = go_quote(draw, key)
    return ("index", ("var", base), key_ast), f"{base}[{spaced(draw, key_text)}]"


def atom(draw: st.DrawFn, filter_kind: bool, legacy: bool) -> tuple[Ast, str]:
    kinds = ["contains", "equals_s", "equals_l", "equals_mixed", "contains_s"]
    if not legacy:
        kinds += ["regexp", "regexp_s", "==", "!="]
    kind = draw(st.sampled_from(kinds))
    if kind in ("==", "!="):
        (a, at), (b, bt) = string_expr(draw, filter_kind), string_expr(draw, filter_kind)
        return (kind, a, b), f"{spaced(draw, at)} {kind} {spaced(draw, bt)}"
    if kind.startswith("regexp"):
        first = string_expr(draw, filter_kind) if kind == "regexp_s" else None
        la, lt = first or list_expr(draw, filter_kind, legacy)
        pattern = draw(st.sampled_from(list(PATTERNS)))
        args = f"{spaced(draw, lt)},{spaced(draw, go_quote(draw, pattern))}"
        return ("regexp.match", la, ("lit", pattern)), f"regexp.match({args})"
    if kind in ("contains_s", "equals_s"):
        a, at = string_expr(draw, filter_kind)
    else:
        a, at = list_expr(draw, filter_kind, legacy)
    if kind in ("equals_l",):
        b, bt = list_expr(draw, filter_kind, legacy)
    elif kind == "equals_mixed":
        b, bt = string_expr(draw, filter_kind)
    else:
        b, bt = string_expr(draw, filter_kind)
    name = "contains" if kind.startswith("contains") else "equals"
    trailing = draw(st.sampled_from(["", ","]))
    return (name, a, b), f"{name}({spaced(draw, at)},{spaced(draw, bt)}{trailing})"


@st.composite
def expressions(
    draw: st.DrawFn, filter_kind: bool, legacy: bool, depth: int = 3
) -> tuple[Ast, str]:
    if depth == 0 or draw(st.integers(0, 2)) == 0:
        return atom(draw, filter_kind, legacy)
    shape = draw(st.sampled_from(["not", "and", "or"]))
    if shape == "not":
        inner, text = draw(expressions(filter_kind, legacy, depth - 1))
        if inner[0] in ("and", "or", "==", "!="):
            text = f"({text})"
        return ("not", inner), "!" + text
    parts = draw(st.lists(expressions(filter_kind, legacy, depth - 1), min_size=2, max_size=4))
    joined = []
    for child, text in parts:
        needs = child[0] == "or" or (child[0] == "and" and shape == "and")
        joined.append(f"({text})" if needs or draw(st.integers(0, 6)) == 0 else text)
    glue = draw(st.sampled_from([" && ", "&&", " &&\n "])) if shape == "and" else " || "
    return (shape, tuple(child for child, _ in parts)), glue.join(joined)


def labels(values: list[str]) -> st.SearchStrategy[dict[str, list[str]]]:
    return st.dictionaries(
        st.sampled_from(KEYS + ROLE_VALUES),
        st.lists(st.sampled_from(values), max_size=3),
        max_size=4,
    )


contexts = st.builds(
    lambda roles, traits, rroles, reason, annotations, review_reason, review_annotations: Context(
        reviewer=Reviewer(roles=roles, traits=traits),
        request=Request(roles=rroles, reason=reason, system_annotations=annotations),
        review=Review(reason=review_reason, annotations=review_annotations),
    ),
    st.lists(st.sampled_from(ROLE_VALUES), max_size=3),
    labels(ROLE_VALUES),
    st.lists(st.sampled_from(ROLE_VALUES), max_size=3),
    st.sampled_from(REASONS + ROLE_VALUES),
    labels(ROLE_VALUES + REASONS),
    st.sampled_from(REASONS + ROLE_VALUES),
    labels(ROLE_VALUES),
)


GENERATED = settings(max_examples=300, deadline=timedelta(seconds=2))


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("filter_kind", [False, True])
@GENERATED
@given(data=st.data())
def test_the_evaluator_agrees_with_a_naive_reference_interpreter(
    data: st.DataObject, filter_kind: bool, legacy: bool
) -> None:
    ast, text = data.draw(expressions(filter_kind, legacy))
    kind = ExpressionKind.FILTER if filter_kind else ExpressionKind.WHERE
    dialect = Dialect.LEGACY if legacy else Dialect.TYPICAL
    expr = parse(text, kind, dialect)
    for ctx in data.draw(st.lists(contexts, min_size=1, max_size=4)):
        try:
            expected: bool | type[Exception] = ref_eval(ast, ctx, legacy)
        except RefError:
            expected = WhereEvalError
        try:
            actual: bool | type[Exception] = expr.evaluate(ctx)
        except WhereEvalError:
            actual = WhereEvalError
        assert actual == expected, (text, ctx)
        explanation = expr.explain(ctx)
        assert (explanation.error is not None) == (actual is WhereEvalError)
        if explanation.error is None:
            assert explanation.result is actual


@pytest.mark.parametrize("legacy", [False, True])
@GENERATED
@given(data=st.data())
def test_the_normalised_text_parses_back_to_an_equal_expression(
    data: st.DataObject, legacy: bool
) -> None:
    _, text = data.draw(expressions(True, legacy))
    dialect = Dialect.LEGACY if legacy else Dialect.TYPICAL
    expr = parse(text, "filter", dialect)
    again = parse(str(expr), "filter", dialect)
    assert again == expr
    assert str(again) == str(expr)
    for ctx in data.draw(st.lists(contexts, min_size=1, max_size=3)):
        try:
            first: object = expr.evaluate(ctx)
        except WhereEvalError as exc:
            first = exc.problem
        try:
            second: object = again.evaluate(ctx)
        except WhereEvalError as exc:
            second = exc.problem
        assert first == second
