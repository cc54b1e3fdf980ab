"""Every function and method of the language: its signature and its implementation.

The signatures are Teleport's (`lib/expression` DefaultParserSpec and the access-request parser,
newest grammar): which Go-typed parameters a name takes, which of typical's function shapes it has
(that decides the arity and the wording of errors) and what it returns. The implementations are
pure functions of evaluated arguments; they raise `Failure` with Teleport's message, which the
evaluator wraps as "evaluating function (name): ...".
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from teleport_access.predicate import _semver
from teleport_access.predicate._gotime import TimeParseError, parse_rfc3339
from teleport_access.predicate._mail import MailError, parse_address
from teleport_access.predicate._strings import go_lower, go_upper
from teleport_access.predicate._values import (
    EMPTY_SET,
    GoTime,
    GoType,
    Option,
    Pair,
    Value,
    go_type_name,
)
from teleport_access.where._ast import quote
from teleport_access.where._patterns import compile_teleport_pattern
from teleport_access.where._regex import RegexError, compile_go

S, B, T, D, A = GoType.SET, GoType.BOOL, GoType.TIME, GoType.DICT, GoType.ANY
STR = GoType.STRING


class Failure(Exception):
    """A function refused its arguments; the message is Teleport's."""


class Shape(enum.Enum):
    """typical's function constructors: each has its own arity rule and error wording."""

    UNARY = "unary"
    BINARY = "binary"
    TERNARY = "ternary"
    VARIADIC = "variadic"  # UnaryVariadicFunction
    BINARY_VARIADIC = "binary variadic"
    TERNARY_VARIADIC = "ternary variadic"


_ORDINALS: Final = ("first", "second", "third")


@attrs.frozen
class Signature:
    shape: Shape
    #: Types of the fixed parameters.
    params: tuple[GoType, ...]
    #: Type of each variadic argument, for the variadic shapes.
    rest: GoType | None
    result: GoType
    impl: Callable[..., Any]
    #: Depends only on its arguments (no environment), so constant arguments can be folded.
    pure: bool = True

    def arity_error(self, name: str, given: int) -> str | None:
        """typical's message when `given` arguments do not fit, else None."""
        if self.shape in (Shape.UNARY, Shape.BINARY, Shape.TERNARY):
            wanted = len(self.params)
            if given != wanted:
                noun = "argument" if wanted == 1 else "arguments"
                return f"function ({name}) accepts {wanted} {noun}, given {given}"
        elif self.shape is Shape.BINARY_VARIADIC and given == 0:
            return f"function ({name}) accepts 1 or more argument, given {given}"
        elif self.shape is Shape.TERNARY_VARIADIC and given < 2:
            return f"function ({name}) accepts 2 or more arguments, given {given}"
        return None

    def param(self, index: int) -> GoType:
        if index < len(self.params):
            return self.params[index]
        assert self.rest is not None
        return self.rest

    def parse_context(self, name: str, index: int) -> str:
        """How typical names argument `index` when it has the wrong type at parse time."""
        if self.shape is Shape.UNARY:
            return f"parsing argument to ({name})"
        if self.shape in (Shape.BINARY, Shape.TERNARY):
            return f"parsing {_ORDINALS[index]} argument to ({name})"
        if self.shape is Shape.VARIADIC:
            return f"parsing argument {index + 1} to function ({name})"
        if index < len(self.params):
            return f"parsing {_ORDINALS[index]} argument to function ({name})"
        return f"parsing argument {index + 1} to function ({name})"

    def eval_context(self, name: str, index: int) -> str:
        """How typical names argument `index` when evaluating it fails."""
        if self.shape is Shape.UNARY:
            return f"evaluating argument to function ({name})"
        if self.shape is Shape.VARIADIC or index >= len(self.params):
            return f"evaluating argument {index + 1} to function ({name})"
        return f"evaluating {_ORDINALS[index]} argument to function ({name})"


# ---------------------------------------------------------------------------------------------
# Implementations


def _set(*items: str) -> frozenset[str]:
    return frozenset(items)


def _dict(*pairs: Pair) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for p in pairs:
        if not isinstance(p.first, str):
            raise Failure(f"dict keys must have type string, got {go_type_name(p.first)}")
        if type(p.second) is not frozenset:
            raise Failure(f"dict values must have type set, got {go_type_name(p.second)}")
        out[p.first] = p.second
    return out


def _union(*sets: frozenset[str]) -> frozenset[str]:
    return frozenset().union(*sets)


def _ifelse(condition: bool, a: Value, b: Value) -> Value:
    return a if condition else b


def _transform(name: str, value: Value, fn: Callable[[str], str]) -> Value:
    if isinstance(value, str):
        return fn(value)
    if type(value) is frozenset:
        return frozenset(map(fn, value))
    raise Failure(
        f"failed to evaluate argument to {name}: expected string or set, "
        f"got value of type {go_type_name(value)}"
    )


def _upper(value: Value) -> Value:
    return _transform("strings.upper", value, go_upper)


def _lower(value: Value) -> Value:
    return _transform("strings.lower", value, go_lower)


def _replaceall(value: Value, old: str, new: str) -> Value:
    return _transform("strings.replaceall", value, lambda s: s.replace(old, new))


def _choose(*options: Option) -> Value:
    for option in options:
        if option.condition:
            return option.value
    raise Failure(
        "evaluating choose expression: no option could be selected, consider adding a default "
        'option by hardcoding the condition to "true"'
    )


def _option(condition: bool, value: Value) -> Option:
    return Option(condition, value)


def _pair(first: Value, second: Value) -> Pair:
    return Pair(first, second)


def _email_local(emails: frozenset[str]) -> frozenset[str]:
    locals_: list[str] = []
    for email in sorted(emails):  # Go's order is random; a sorted one reports errors stably
        if email == "":
            raise Failure('found empty "email.local" argument')
        try:
            address = parse_address(email)
        except MailError as exc:
            raise Failure(f'failed to parse "email.local" argument {quote(email)}: {exc}') from None
        local, at, _ = address.partition("@")
        if not at:
            raise Failure(
                f'could not find local part in "email.local" argument {quote(email)}, '
                f"{quote(address)}"
            )
        if local:
            locals_.append(local)
    return frozenset(locals_)


# Both regexp functions run on the `where` language's engine: Go's regexp syntax, errors and
# ReplaceAllString on RE2 itself (linear time; text a requester writes never meets `re`).


def _regexp_match(inputs: frozenset[str], expression: str) -> bool:
    matcher = compile_teleport_pattern(expression)
    if isinstance(matcher, RegexError):
        raise Failure(f"invalid regular expression {quote(expression)}: {matcher}")
    return any(matcher(value) for value in inputs)


def _regexp_replace(inputs: frozenset[str], match: str, replacement: str) -> frozenset[str]:
    try:
        program = compile_go(match, capture=True)
    except RegexError as exc:
        raise Failure(
            f"invalid regexp {quote(match)}: failed to parse regexp {quote(match)}: {exc}"
        ) from None
    out: list[str] = []
    for value in inputs:
        if not program.search(value):
            continue  # inputs that do not match are dropped
        replaced = program.replace_all(value, replacement)
        if replaced:
            out.append(replaced)
    return frozenset(out)


def _split(inputs: frozenset[str], sep: str) -> frozenset[str]:
    out: set[str] = set()
    for value in inputs:
        # Go's strings.Split with an empty separator splits into characters ("" into nothing).
        out.update(value.split(sep) if sep else value)
    return frozenset(out)


def _rfc3339(text: str) -> GoTime:
    try:
        return parse_rfc3339(text)
    except TimeParseError as exc:
        raise Failure(str(exc)) from None


def _before(t: GoTime, u: GoTime) -> bool:
    return t.ns < u.ns


def _after(t: GoTime, u: GoTime) -> bool:
    return t.ns > u.ns


def _time_between(t: GoTime, first: GoTime, second: GoTime) -> bool:
    if first.ns > second.ns:
        first, second = second, first
    return first.ns < t.ns < second.ns


def _between(value: Value, first: Value, second: Value) -> bool:
    """The function (newest grammar): times, or else semantic versions."""
    if isinstance(value, GoTime):
        if not isinstance(first, GoTime) or not isinstance(second, GoTime):
            raise Failure("the time parameters provided are invalid time values")
        return _time_between(value, first, second)
    try:
        return _semver.semver_between(value, first, second)
    except _semver.SemverError as exc:
        raise Failure(str(exc)) from None


def _between_method(t: GoTime, *interval: GoTime) -> bool:
    if len(interval) != 2:
        raise Failure(f"between expected 2 parameters: got {len(interval)}")
    return _time_between(t, interval[0], interval[1])


def _contains_any(a: frozenset[str], b: frozenset[str]) -> bool:
    return not b.isdisjoint(a)


def _contains_all(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(b) and b <= a


def _is_empty(s: frozenset[str]) -> bool:
    return not s


def _newer_than(a: Value, b: Value) -> bool:
    try:
        return _semver.newer_than(a, b)
    except _semver.SemverError as exc:
        raise Failure(str(exc)) from None


def _older_than(a: Value, b: Value) -> bool:
    try:
        return _semver.older_than(a, b)
    except _semver.SemverError as exc:
        raise Failure(str(exc)) from None


def _add(s: frozenset[str], *items: str) -> frozenset[str]:
    return s.union(items)


def _contains(s: frozenset[str], item: str) -> bool:
    return item in s


def _put(d: Mapping[str, frozenset[str]], key: str, value: frozenset[str]) -> dict[str, Any]:
    out = dict(d)
    out[key] = value
    return out


def _add_values(d: Mapping[str, frozenset[str]], key: str, *items: str) -> dict[str, Any]:
    out = dict(d)
    out[key] = out.get(key, EMPTY_SET).union(items)
    return out


def _remove(r: Value, *items: str) -> Value:
    if type(r) is frozenset:
        return r.difference(items)
    assert isinstance(r, Mapping)
    return {k: v for k, v in r.items() if k not in items}


def _sig(
    shape: Shape,
    params: tuple[GoType, ...],
    result: GoType,
    impl: Callable[..., Any],
    rest: GoType | None = None,
) -> Signature:
    return Signature(shape, params, rest, result, impl)


U, BI, TE, V = Shape.UNARY, Shape.BINARY, Shape.TERNARY, Shape.VARIADIC

#: Functions of the newest grammar (post-v18 master).
FUNCTIONS: Final[Mapping[str, Signature]] = {
    "set": _sig(V, (), S, _set, rest=STR),
    "dict": _sig(V, (), D, _dict, rest=GoType.PAIR),
    "pair": _sig(BI, (A, A), GoType.PAIR, _pair),
    "union": _sig(V, (), S, _union, rest=S),
    "ifelse": _sig(TE, (B, A, A), A, _ifelse),
    "strings.upper": _sig(U, (A,), A, _upper),
    "strings.lower": _sig(U, (A,), A, _lower),
    "strings.replaceall": _sig(TE, (A, STR, STR), A, _replaceall),
    "choose": _sig(V, (), A, _choose, rest=GoType.OPTION),
    "option": _sig(BI, (B, A), GoType.OPTION, _option),
    "email.local": _sig(U, (S,), S, _email_local),
    "regexp.match": _sig(BI, (S, STR), B, _regexp_match),
    "regexp.replace": _sig(TE, (S, STR, STR), S, _regexp_replace),
    "strings.split": _sig(BI, (S, STR), S, _split),
    "time.RFC3339": _sig(U, (STR,), T, _rfc3339),
    "before": _sig(BI, (T, T), B, _before),
    "after": _sig(BI, (T, T), B, _after),
    "between": _sig(TE, (A, A, A), B, _between),
    "contains_any": _sig(BI, (S, S), B, _contains_any),
    "contains_all": _sig(BI, (S, S), B, _contains_all),
    "is_empty": _sig(U, (S,), B, _is_empty),
    "newer_than": _sig(BI, (A, A), B, _newer_than),
    "older_than": _sig(BI, (A, A), B, _older_than),
}

#: Methods: `x.name(args)` is `name(x, args)`; looked up before module functions.
METHODS: Final[Mapping[str, Signature]] = {
    "add": _sig(Shape.BINARY_VARIADIC, (S,), S, _add, rest=STR),
    "contains": _sig(BI, (S, STR), B, _contains),
    "put": _sig(TE, (D, STR, S), D, _put),
    "add_values": _sig(Shape.TERNARY_VARIADIC, (D, STR), D, _add_values, rest=STR),
    "remove": _sig(Shape.BINARY_VARIADIC, (GoType.REMOVER,), A, _remove, rest=STR),
    "before": _sig(BI, (T, T), B, _before),
    "after": _sig(BI, (T, T), B, _after),
    "between": _sig(Shape.BINARY_VARIADIC, (T,), B, _between_method, rest=T),
    "contains_any": _sig(BI, (S, S), B, _contains_any),
    "contains_all": _sig(BI, (S, S), B, _contains_all),
    "isempty": _sig(U, (S,), B, _is_empty),
}
