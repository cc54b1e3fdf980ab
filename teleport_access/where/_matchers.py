"""Role matchers of `review_requests.roles` and `claims_to_roles`, as Teleport builds them.

A matcher string is one of (Teleport's `parse.NewMatcher`):

- a literal role name, `dev`;
- a glob, `dev-*` (`*` matches any run of characters except a line break; the rest is literal);
- a regular expression wrapped in `^...$`, Go RE2 syntax, e.g. `^(dev|ops)-[0-9]+$`;
- a template `prefix{{regexp.match("re")}}suffix` or `{{regexp.not_match("re")}}`: the input
  must start with the prefix and end with the suffix, and what is between is searched with the
  raw (unanchored) regular expression.

`claims_to_roles` maps the reviewer's traits to more matchers (`traits_to_role_matchers`): a
trait value matching the mapping's value pattern (case-insensitively, glob or `^regex$`) yields
each of the mapping's roles, with `$1`-style references expanded; a role produced by expansion
matches only literally.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence

import attrs

from teleport_access._models import ClaimMapping
from teleport_access.where import _parser as syn
from teleport_access.where._errors import WhereError
from teleport_access.where._lexer import STRING
from teleport_access.where._patterns import compile_teleport_pattern, expression_to_regexp
from teleport_access.where._regex import GoRegexp, RegexError, compile_go

Match = Callable[[str], bool]

#: Teleport's reVariable, with Go's ASCII \s.
_TEMPLATE = re.compile(r"\A(?P<prefix>[^}{]*)\{\{(?P<expression>[^}{]*)\}\}(?P<suffix>[^}{]*)\Z")
_EXPANSION = re.compile(r"\$[^$]+")


class MatcherError(ValueError):
    """A role matcher Teleport would refuse (NewMatcher fails, and so does review checking)."""


@attrs.frozen(kw_only=True)
class RoleMatcher:
    """One compiled matcher, remembering where it came from for explanations."""

    #: The matcher text, e.g. "dev-*" or "^ops-[0-9]+$".
    pattern: str
    #: The reviewer role that contributed it.
    source_role: str
    #: True for matchers produced by claims_to_roles.
    from_claims: bool = False
    match: Match = attrs.field(eq=False, repr=False)


@functools.lru_cache(maxsize=2048)
def new_matcher(value: str) -> Match:
    """Teleport's parse.NewMatcher. Raises MatcherError."""
    template = _TEMPLATE.match(value)
    if template is None:
        if "{{" in value or "}}" in value:
            raise MatcherError(
                f"{value!r} is using template brackets '{{{{' or '}}}}', however expression does "
                "not parse, make sure the format is {{expression}}"
            )
        compiled = compile_teleport_pattern(value)
        if isinstance(compiled, RegexError):
            raise MatcherError(f"invalid role matcher {value!r}: {compiled}")
        return compiled
    prefix, expression, suffix = template.group("prefix", "expression", "suffix")
    negate, pattern = _template_function(value, expression)
    try:
        search = compile_go(pattern).search
    except RegexError as exc:
        raise MatcherError(f"invalid role matcher {value!r}: {exc}") from exc

    def match_template(role: str) -> bool:
        if not (role.startswith(prefix) and role.endswith(suffix)):
            return False
        # strings.TrimPrefix then strings.TrimSuffix, exactly (they may overlap).
        inner = role[len(prefix) :]
        if suffix and inner.endswith(suffix):
            inner = inner[: len(inner) - len(suffix)]
        return search(inner) is not negate

    return match_template


def _template_function(value: str, expression: str) -> tuple[bool, str]:
    """The inside of `{{...}}`: regexp.match("re") or regexp.not_match("re")."""
    try:
        tree = syn.parse_syntax(expression)
    except WhereError as exc:
        raise MatcherError(f"failed to parse matcher expression {value!r}: {exc.problem}") from exc
    while isinstance(tree, syn.Paren):
        tree = tree.inner
    name = None
    if isinstance(tree, syn.Call) and isinstance(tree.function, syn.Selector):
        base = tree.function.base
        if isinstance(base, syn.Name):
            name = f"{base.name}.{tree.function.name}"
    if name not in ("regexp.match", "regexp.not_match") or not isinstance(tree, syn.Call):
        raise MatcherError(
            f'{value!r} is not a valid matcher expression: only regexp.match("...") and '
            'regexp.not_match("...") are supported'
        )
    if len(tree.args) != 1:
        raise MatcherError(
            f"function ({name}) accepts 1 argument, given {len(tree.args)} in {value!r}"
        )
    arg = tree.args[0]
    while isinstance(arg, syn.Paren):
        arg = arg.inner
    if not (isinstance(arg, syn.Literal) and arg.kind == STRING):
        raise MatcherError(f"the argument of {name} in {value!r} must be a string literal")
    assert isinstance(arg.value, str)
    return name == "regexp.not_match", arg.value


def literal_matcher(value: str) -> Match:
    return lambda role: role == value


def role_matchers(patterns: Sequence[str], source_role: str) -> list[RoleMatcher]:
    """Matchers for `review_requests.roles`. Raises MatcherError."""
    return [
        RoleMatcher(pattern=pattern, source_role=source_role, match=new_matcher(pattern))
        for pattern in patterns
    ]


def traits_to_role_matchers(
    mappings: Sequence[ClaimMapping], traits: Mapping[str, Sequence[str]], source_role: str
) -> list[RoleMatcher]:
    """Teleport's TraitsToRoleMatchers for `claims_to_roles`. Raises MatcherError.

    A mapping whose value pattern is invalid is skipped (Teleport logs a warning); a produced
    role that is not a valid matcher is an error.
    """
    produced: list[tuple[str, bool]] = []
    for mapping in mappings:
        values = traits.get(mapping.claim)
        if values is None:
            continue
        insensitive = _compile_mapping("(?i)" + expression_to_regexp(mapping.value))
        sensitive = _compile_mapping(expression_to_regexp(mapping.value))
        if insensitive is None or sensitive is None:
            continue
        for trait_value in values:
            for role in mapping.roles:
                if not insensitive.search(trait_value):
                    break  # this trait value does not match: on to the next one
                out = insensitive.replace_all(trait_value, role)
                if not out:
                    continue
                if not sensitive.search(trait_value):
                    continue  # matches only ignoring case: Teleport warns and skips it
                produced.append((out, out != role))
    matchers = []
    first_error: MatcherError | None = None
    for role, expanded in produced:
        if expanded or _EXPANSION.search(role):
            match = literal_matcher(role)
        else:
            try:
                match = new_matcher(role)
            except MatcherError as exc:
                first_error = first_error or exc
                continue
        matchers.append(
            RoleMatcher(pattern=role, source_role=source_role, from_claims=True, match=match)
        )
    if first_error is not None:
        raise first_error
    return matchers


@functools.lru_cache(maxsize=512)
def _compile_mapping(pattern: str) -> GoRegexp | None:
    try:
        return compile_go(pattern, capture=True)
    except RegexError:
        return None
