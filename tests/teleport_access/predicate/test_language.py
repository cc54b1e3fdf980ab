# ruff: noqa: E501  (a table of conditions and Teleport's messages, each kept on one line)
"""The language, function by function, method by method, operator by operator, error by error.

Each vector is (condition, environment, outcome[, Teleport's message]). Outcomes follow Teleport's
code (typical, lib/expression, gravitational/predicate): True/False for a boolean result (any other
value is False: no match), "parse_error" or "eval_error". The Go tests the reference quotes are
marked with their names.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from teleport_access.predicate import Environment
from tests.teleport_access.predicate.helpers import outcome

T0 = datetime(2025, 8, 11, 14, 30, tzinfo=UTC)
ENV = Environment(
    roles=["dev", "stage", "dev-team", "admin"],
    suggested_reviewers=["bob", "carol"],
    system_annotations={"pagerduty_services": ["svc"], "pagerduty_notify_service": ["Notify"]},
    user="alice@example.com",
    request_reason="INC-42: I am on-call",
    creation_time=T0,
    expiry=datetime(2025, 8, 12, 14, 30, tzinfo=UTC),
    user_traits={
        "team": ["db", "platform"],
        "level": ["L2"],
        "groups": ["devs", "security"],
        "email": ["alice@example.com"],
        "my-key": ["x"],
        "version": ["1.2.3"],
        "empty": [],
    },
    resource_labels=[{"env": "prod", "tier": "1"}, {"env": "prod", "tier": "2"}],
)
EMPTY = Environment()

VECTORS: list[tuple[str, Environment, object] | tuple[str, Environment, object, str]] = [
    # -- literals and constants --------------------------------------------------------------
    ("true", EMPTY, True),
    ("false", EMPTY, False),
    ("(true)", EMPTY, True),
    ('"true"', EMPTY, False),  # a string: not a boolean, so no match
    ("1", EMPTY, False),
    ("1.5", EMPTY, False),
    ("`raw`", EMPTY, False),
    ('"a\\tb" == "a\tb"', EMPTY, True),
    ('"\\u00e9" == "é"', EMPTY, True),
    ('"\\xc3\\xa9" == "é"', EMPTY, True),
    ('"\\303\\251" == "é"', EMPTY, True),
    ('`a\\nb` == "a\\\\nb"', EMPTY, True),
    ("010 == 10", EMPTY, True),  # strconv.Atoi reads a leading zero as decimal
    ("0x10 == 16", EMPTY, "parse_error"),
    ("'a'", EMPTY, "parse_error"),
    ("1i", EMPTY, "parse_error"),
    ("true.x", EMPTY, "parse_error", 'unknown identifier: "true.x"'),
    # -- operators -----------------------------------------------------------------------------
    ("!true", EMPTY, False),
    ("!!true", EMPTY, True),
    ("!(true && false)", EMPTY, True),
    ("true && true && true", EMPTY, True),
    ("true && true && false", EMPTY, False),
    ("false || false || true", EMPTY, True),
    ("false || true && false", EMPTY, False),
    ("(false || true) && true", EMPTY, True),
    (
        "!1",
        EMPTY,
        "parse_error",
        "parsing target of (!) operator: expected type bool, got value (1) with type (int)",
    ),
    (
        "1 && true",
        EMPTY,
        "parse_error",
        "parsing lhs of (&&) operator: expected type bool, got value (1) with type (int)",
    ),
    (
        "true || access_request.spec.roles",
        EMPTY,
        "parse_error",
        "parsing rhs of (||) operator: expected type bool, got expression returning type (expression.Set)",
    ),
    (
        'true && "x" && nothing',
        EMPTY,
        "parse_error",
        "parsing rhs of (&&) operator: expected type bool, got value (x) with type (string)",
    ),
    ('nothing && "x"', EMPTY, "parse_error", 'unknown identifier: "nothing"'),
    ('access_request.spec.user == "alice@example.com"', ENV, True),
    ('access_request.spec.user != "alice@example.com"', ENV, False),
    ('"a" == "a"', EMPTY, True),
    ("2 != 1", EMPTY, True),
    ("access_request.spec.request_reason == access_request.spec.user", ENV, False),
    ("true == true", EMPTY, "parse_error", "operator (==) not supported for type: bool"),
    ("1.5 == 1.5", EMPTY, "parse_error", "operator (==) not supported for type: float64"),
    (
        "access_request.spec.system_annotations == access_request.spec.system_annotations",
        EMPTY,
        "parse_error",
        "operator (==) not supported for type: expression.Dict",
    ),
    (
        "set() != set()",
        EMPTY,
        "parse_error",
        "operator (!=) not supported for type: expression.Set",
    ),
    (
        'ifelse(true, "a", "b") == ifelse(true, "a", "b")',
        EMPTY,
        "parse_error",
        "operator (==) can only be used when at least one operand type is known at parse time",
    ),
    ('ifelse(true, "a", "b") == "a"', EMPTY, True),
    ('"a" == ifelse(false, "b", "a")', EMPTY, True),
    (
        'ifelse(true, 1, "b") == "a"',
        EMPTY,
        "eval_error",
        "evaluating lhs of (==) operator: expected type string, got value (1) with type (int)",
    ),
    (
        '"a" != ifelse(true, set(), "b")',
        EMPTY,
        "eval_error",
        "evaluating rhs of (!=) operator: expected type string, got value ({s:map[]}) with type (expression.Set)",
    ),
    (
        '"1" == 1',
        EMPTY,
        "parse_error",
        "parsing rhs of (==) operator: expected type string, got value (1) with type (int)",
    ),
    (
        'access_request.spec.user == set("a")',
        EMPTY,
        "parse_error",
        "parsing rhs of (==) operator: expected type string, got expression returning type (expression.Set)",
    ),
    ("1 > 2", EMPTY, "parse_error", "> is not supported"),
    ("1 <= 2", EMPTY, "parse_error", "<= is not supported"),
    ("1 >= 2", EMPTY, "parse_error", ">= is not supported"),
    ("1 - 2", EMPTY, "parse_error", "- is not supported"),
    ("1 * 2", EMPTY, "parse_error", "* is not supported"),
    ("true & false", EMPTY, "parse_error", "& is not supported"),
    ("true | false", EMPTY, "parse_error", "| is not supported"),
    ("nothing + 1", EMPTY, "parse_error", 'unknown identifier: "nothing"'),
    ("-1", EMPTY, "parse_error", "- is not supported"),
    ("-nothing", EMPTY, "parse_error", "- is not supported"),
    ("^1", EMPTY, "parse_error", "^ is not supported"),
    ("*true", EMPTY, "parse_error", "*ast.StarExpr is not supported"),
    ("&true", EMPTY, "parse_error", "& is not supported"),
    # -- short circuit ----------------------------------------------------------------------------
    ("false && choose(option(false, true))", EMPTY, False),
    ("true || choose(option(false, true))", EMPTY, True),
    ("true && choose(option(false, true))", EMPTY, "eval_error"),
    # -- variables ------------------------------------------------------------------------------
    ('access_request.spec.roles.contains("admin")', ENV, True),
    ('access_request.spec.suggested_reviewers.contains("bob")', ENV, True),
    ('access_request.spec.system_annotations["pagerduty_services"].contains("svc")', ENV, True),
    ('access_request.spec.system_annotations.pagerduty_services.contains("svc")', ENV, True),
    ('access_request.spec.request_reason == "INC-42: I am on-call"', ENV, True),
    ('access_request.spec.creation_time.after(time.RFC3339("2025-08-11T14:29:59Z"))', ENV, True),
    ("access_request.spec.expiry.after(access_request.spec.creation_time)", ENV, True),
    ('access_request.spec.expiry.before(time.RFC3339("0001-01-01T00:00:01Z"))', EMPTY, True),
    ('access_request.spec.creation_time.after(time.RFC3339("0001-01-01T00:00:00Z"))', EMPTY, False),
    ('user.traits["team"].contains("db")', ENV, True),
    ('user.traits.team.contains("db")', ENV, True),
    ('user.traits["my-key"].contains("x")', ENV, True),
    ('user.traits["missing"].isempty()', ENV, True),
    ("user.traits[access_request.spec.user].isempty()", ENV, True),
    ('user.traits[ifelse(true, "team", "x")].contains("db")', ENV, True),
    (
        'user.traits[ifelse(true, 1, "x")].isempty()',
        ENV,
        "eval_error",
        "evaluating argument to function (isempty): evaluating key of index expression: expected type string, got value (1) with type (int)",
    ),
    (
        "user.traits.team.x.isempty()",
        ENV,
        "parse_error",
        'unknown identifier: "user.traits.team.x"',
    ),
    (
        'user.traits["a"]["b"]',
        ENV,
        "parse_error",
        "cannot take index of unexpected type: expected type map[string]string, got expression returning type (expression.Set)",
    ),
    (
        'access_request.spec.roles["a"]',
        ENV,
        "parse_error",
        "cannot take index of unexpected type: expected type map[string]string, got expression returning type (expression.Set)",
    ),
    (
        '"abc"["a"]',
        ENV,
        "parse_error",
        "cannot take index of unexpected type: expected type map[string]string, got value (abc) with type (string)",
    ),
    (
        "user.traits[1]",
        ENV,
        "parse_error",
        "parsing key of index expression: expected type string, got value (1) with type (int)",
    ),
    ("user", ENV, "parse_error", 'unknown identifier: "user"'),
    ("access_request.spec", ENV, "parse_error", 'unknown identifier: "access_request.spec"'),
    (
        "access_request.spec.roles.x",
        ENV,
        "parse_error",
        'unknown identifier: "access_request.spec.roles.x"',
    ),
    ("user.spec.traits", ENV, "parse_error", 'unknown identifier: "user.spec.traits"'),
    ('set("a").x', ENV, "parse_error", "unsupported selector type: *ast.CallExpr"),
    ("(user).traits", ENV, "parse_error", "unsupported selector type: *ast.ParenExpr"),
    ('access_request.spec.resource_labels_union["env"].contains("prod")', ENV, True),
    ('access_request.spec.resource_labels_union["tier"].contains_all(set("1", "2"))', ENV, True),
    ('access_request.spec.resource_labels_intersection["env"].contains("prod")', ENV, True),
    ('access_request.spec.resource_labels_intersection["tier"].isempty()', ENV, True),
    ('access_request.spec.resource_labels_intersection["env"].isempty()', EMPTY, True),
    ('access_request.spec.resource_labels_union.env.contains("prod")', ENV, True),
    # -- set, union, dict, pair ------------------------------------------------------------------
    ("set().isempty()", EMPTY, True),
    ('set("a", "a").contains("a")', EMPTY, True),
    ('set(access_request.spec.user).contains("alice@example.com")', ENV, True),
    (
        "set(1)",
        EMPTY,
        "parse_error",
        "parsing argument 1 to function (set): expected type string, got value (1) with type (int)",
    ),
    (
        'set("a", access_request.spec.roles)',
        EMPTY,
        "parse_error",
        "parsing argument 2 to function (set): expected type string, got expression returning type (expression.Set)",
    ),
    ('union(set("a"), set("b")).contains_all(set("a", "b"))', EMPTY, True),
    ('union(access_request.spec.roles, user.traits["team"]).contains("db")', ENV, True),
    (
        'union("a")',
        EMPTY,
        "parse_error",
        "parsing argument 1 to function (union): expected type expression.Set, got value (a) with type (string)",
    ),
    (
        'dict(pair("k", set("v"))).put("x", set()).remove("k").remove("x").add_values("y").put("z", set("1"))',
        EMPTY,
        False,
    ),
    (
        'dict(pair(1, set("v")))',
        EMPTY,
        "eval_error",
        "evaluating function (dict): dict keys must have type string, got int",
    ),
    (
        'dict(pair("k", "v"))',
        EMPTY,
        "eval_error",
        "evaluating function (dict): dict values must have type set, got string",
    ),
    (
        'dict(set("a"))',
        EMPTY,
        "parse_error",
        "parsing argument 1 to function (dict): expected type expression.pair, got expression returning type (expression.Set)",
    ),
    ('pair("a")', EMPTY, "parse_error", "function (pair) accepts 2 arguments, given 1"),
    ('dict(pair("k", set("v")))["k"]', EMPTY, "parse_error"),
    # -- ifelse, choose, option -------------------------------------------------------------------
    ('ifelse(access_request.spec.roles.contains("dev"), true, false)', ENV, True),
    (
        "ifelse(1, true, false)",
        ENV,
        "parse_error",
        "parsing first argument to (ifelse): expected type bool, got value (1) with type (int)",
    ),
    ("ifelse(true, true)", ENV, "parse_error", "function (ifelse) accepts 3 arguments, given 2"),
    (
        "ifelse(true, true, choose())",
        ENV,
        "eval_error",
        'evaluating third argument to function (ifelse): evaluating function (choose): evaluating choose expression: no option could be selected, consider adding a default option by hardcoding the condition to "true"',
    ),
    ("ifelse(ifelse(true, true, 1), true, false)", ENV, True),
    (
        "ifelse(ifelse(true, 1, 1), true, false)",
        ENV,
        "eval_error",
        "evaluating first argument to function (ifelse): expected type bool, got value (1) with type (int)",
    ),
    ("choose(option(false, false), option(true, true))", EMPTY, True),
    (
        'choose(option(access_request.spec.roles.contains("x"), "no"), option(true, "yes")) == "yes"',
        ENV,
        True,
    ),
    (
        "choose(true)",
        EMPTY,
        "parse_error",
        "parsing argument 1 to function (choose): expected type expression.option, got value (true) with type (bool)",
    ),
    ("option(true)", EMPTY, "parse_error", "function (option) accepts 2 arguments, given 1"),
    (
        'option("x", 1)',
        EMPTY,
        "parse_error",
        "parsing first argument to (option): expected type bool, got value (x) with type (string)",
    ),
    # -- strings.* --------------------------------------------------------------------------------
    ('strings.upper("abc") == "ABC"', EMPTY, True),
    ('strings.lower("ABC") == "abc"', EMPTY, True),
    ('strings.upper(access_request.spec.user) == "ALICE@EXAMPLE.COM"', ENV, True),
    ('strings.upper(user.traits.team).contains("DB")', ENV, True),
    ('strings.lower(set("A", "a")).contains_all(set("a"))', EMPTY, True),
    ('strings.upper("straße") == "STRAßE"', EMPTY, True),  # Go maps rune by rune
    ('strings.lower("ΟΔΟΣ") == "οδοσ"', EMPTY, True),
    (
        'strings.upper(1) == "1"',
        EMPTY,
        "eval_error",
        "evaluating lhs of (==) operator: evaluating function (strings.upper): failed to evaluate argument to strings.upper: expected string or set, got value of type int",
    ),
    (
        'strings.lower(user.traits) == ""',
        ENV,
        "eval_error",
        "evaluating lhs of (==) operator: evaluating function (strings.lower): failed to evaluate argument to strings.lower: expected string or set, got value of type expression.Dict",
    ),
    ('strings.replaceall(access_request.spec.user, "@example.com", "") == "alice"', ENV, True),
    ('strings.replaceall("abc", "", "-") == "-a-b-c-"', EMPTY, True),
    ('strings.replaceall(user.traits.team, "d", "D").contains("Db")', ENV, True),
    (
        'strings.replaceall("a", 1, "b")',
        EMPTY,
        "parse_error",
        "parsing second argument to (strings.replaceall): expected type string, got value (1) with type (int)",
    ),
    ('strings.split(set("a,b", "c"), ",").contains_all(set("a", "b", "c"))', EMPTY, True),
    ('strings.split(set("abc"), "").contains_all(set("a", "b", "c"))', EMPTY, True),
    ('strings.split(set(""), "").isempty()', EMPTY, True),
    ('strings.split(set(""), ",").contains("")', EMPTY, True),
    (
        'strings.split("a,b", ",")',
        EMPTY,
        "parse_error",
        "parsing first argument to (strings.split): expected type expression.Set, got value (a,b) with type (string)",
    ),
    ('strings.nope("a")', EMPTY, "parse_error", "unsupported function: strings.nope"),
    # -- email.local ------------------------------------------------------------------------------
    ('email.local(user.traits.email).contains("alice")', ENV, True),
    ('email.local(set("Alice <alice@example.com>")).contains("alice")', EMPTY, True),
    ('email.local(set("\\"a b\\"@example.com")).contains("a b")', EMPTY, True),
    (
        'email.local(set("bob@example.com", "carol@example.com")).contains_all(set("bob", "carol"))',
        EMPTY,
        True,
    ),
    ("email.local(set()).isempty()", EMPTY, True),
    (
        'email.local(set("not an address")).isempty()',
        EMPTY,
        "eval_error",
        'evaluating argument to function (isempty): evaluating function (email.local): failed to parse "email.local" argument "not an address": mail: no angle-addr',
    ),
    (
        'email.local(set("a@")).isempty()',
        EMPTY,
        "eval_error",
        'evaluating argument to function (isempty): evaluating function (email.local): failed to parse "email.local" argument "a@": mail: no angle-addr',
    ),
    (
        'email.local("a@b")',
        EMPTY,
        "parse_error",
        "parsing argument to (email.local): expected type expression.Set, got value (a@b) with type (string)",
    ),
    # -- regexp.match (Teleport's glob and ^regex$ rules) ------------------------------------------
    ('regexp.match(access_request.spec.roles, "dev-*")', ENV, True),
    ('regexp.match(access_request.spec.roles, "*-team")', ENV, True),
    ('regexp.match(access_request.spec.roles, "dev")', ENV, True),
    ('regexp.match(access_request.spec.roles, "de")', ENV, False),
    ('regexp.match(access_request.spec.roles, "d.v")', ENV, False),  # a glob: the dot is literal
    ('regexp.match(access_request.spec.roles, "^d.v$")', ENV, True),
    ('regexp.match(access_request.spec.roles, "^st")', ENV, False),  # no $: a glob, literal ^
    ('regexp.match(set("^st"), "^st")', ENV, True),
    ('regexp.match(access_request.spec.roles, "^(adm|xyz)in$")', ENV, True),
    ('regexp.match(set("a\\nb"), "a*")', ENV, False),  # * does not cross a line break
    ('regexp.match(set(), "*")', ENV, False),
    ('regexp.match(set("x"), "*")', ENV, True),
    ('regexp.match(set(""), "")', ENV, True),
    (
        'regexp.match(set("x"), "^(x$")',
        ENV,
        "eval_error",
        'evaluating function (regexp.match): invalid regular expression "^(x$": error parsing regexp: missing closing ): `^(x$`',
    ),
    ('regexp.match(set(), "^(x$")', ENV, "eval_error"),  # compiled before the inputs are read
    ('regexp.match(set("aaa"), "^(a+)\\\\1$")', ENV, "eval_error"),  # no backreferences in RE2
    ('regexp.match(set("x"), "^(?=x)x$")', ENV, "eval_error"),  # no lookahead in RE2
    ('regexp.match(set("x"), "^\\\\Cx$")', ENV, "eval_error"),  # \\C is RE2-only
    ('regexp.match(access_request.spec.user, "a*")', ENV, "parse_error"),
    (
        'regexp.match(set("x"), user.traits.team)',
        ENV,
        "parse_error",
        "parsing second argument to (regexp.match): expected type string, got expression returning type (expression.Set)",
    ),
    ('regexp.match(set("x"), ifelse(true, "x", "y"))', ENV, True),
    # -- regexp.replace ---------------------------------------------------------------------------
    ('regexp.replace(access_request.spec.roles, "^dev-(.*)$", "$1").contains("team")', ENV, True),
    (
        'regexp.replace(access_request.spec.roles, "^dev-(?P<rest>.*)$", "x-${rest}").contains("x-team")',
        ENV,
        True,
    ),
    (
        'regexp.replace(access_request.spec.roles, "dev", "prod").contains_all(set("prod", "prod-team"))',
        ENV,
        True,
    ),
    (
        'regexp.replace(access_request.spec.roles, "^dev$", "").contains("")',
        ENV,
        False,
    ),  # "" is dropped
    ('regexp.replace(set("aaa"), "a*", "-").contains("-")', EMPTY, True),
    ('regexp.replace(set("baaac"), "a*", "-").contains("-b-c-")', EMPTY, True),
    ('regexp.replace(set("x"), "dev-*", "y").isempty()', EMPTY, True),  # raw regexp, not a glob
    (
        'regexp.replace(set("x"), "(", "y").isempty()',
        EMPTY,
        "eval_error",
        'evaluating argument to function (isempty): evaluating function (regexp.replace): invalid regexp "(": failed to parse regexp "(": error parsing regexp: missing closing ): `(`',
    ),
    # -- times ------------------------------------------------------------------------------------
    (
        'time.RFC3339("2025-08-11T14:30:00Z").before(time.RFC3339("2025-08-11T14:30:00.000000001Z"))',
        EMPTY,
        True,
    ),
    (
        'before(time.RFC3339("2025-08-11T16:30:00+02:00"), time.RFC3339("2025-08-11T14:30:01Z"))',
        EMPTY,
        True,
    ),
    (
        'after(time.RFC3339("2025-08-11T16:30:00+02:00"), time.RFC3339("2025-08-11T14:30:00Z"))',
        EMPTY,
        False,
    ),
    ('time.RFC3339("2024-02-29T00:00:00Z").before(access_request.spec.creation_time)', ENV, True),
    ('time.RFC3339("2025-02-29T00:00:00Z").isempty()', EMPTY, "parse_error"),
    (
        'time.RFC3339("2025-02-29T00:00:00Z").before(access_request.spec.creation_time)',
        ENV,
        "eval_error",
        'evaluating first argument to function (before): evaluating function (time.RFC3339): parsing time "2025-02-29T00:00:00Z": day out of range',
    ),
    (
        'time.RFC3339("yesterday").after(access_request.spec.creation_time)',
        ENV,
        "eval_error",
        'evaluating first argument to function (after): evaluating function (time.RFC3339): parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
    ),
    (
        'time.RFC3339("2025-08-11T24:00:00Z").after(access_request.spec.creation_time)',
        ENV,
        "eval_error",
        'evaluating first argument to function (after): evaluating function (time.RFC3339): parsing time "2025-08-11T24:00:00Z": hour out of range',
    ),
    (
        'time.RFC3339("2025-08-11T14:30:00").after(access_request.spec.creation_time)',
        ENV,
        "eval_error",
        'evaluating first argument to function (after): evaluating function (time.RFC3339): parsing time "2025-08-11T14:30:00" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"',
    ),
    (
        'time.RFC3339("2025-08-11T14:30:00Zjunk").after(access_request.spec.creation_time)',
        ENV,
        "eval_error",
        'evaluating first argument to function (after): evaluating function (time.RFC3339): parsing time "2025-08-11T14:30:00Zjunk": extra text: "junk"',
    ),
    (
        "time.RFC3339(1)",
        ENV,
        "parse_error",
        "parsing argument to (time.RFC3339): expected type string, got value (1) with type (int)",
    ),
    ('access_request.spec.creation_time.before("2025")', ENV, "parse_error"),
    (
        'between(access_request.spec.creation_time, time.RFC3339("2025-08-11T14:00:00Z"), time.RFC3339("2025-08-11T15:00:00Z"))',
        ENV,
        True,
    ),
    (
        'between(access_request.spec.creation_time, time.RFC3339("2025-08-11T15:00:00Z"), time.RFC3339("2025-08-11T14:00:00Z"))',
        ENV,
        True,
    ),
    (
        'between(access_request.spec.creation_time, access_request.spec.creation_time, time.RFC3339("2025-08-11T15:00:00Z"))',
        ENV,
        False,
    ),
    (
        'between(access_request.spec.creation_time, "2025", time.RFC3339("2025-08-11T15:00:00Z"))',
        ENV,
        "eval_error",
        "evaluating function (between): the time parameters provided are invalid time values",
    ),
    (
        'between(access_request.spec.creation_time, time.RFC3339("2025-08-11T15:00:00Z"))',
        ENV,
        "parse_error",
        "function (between) accepts 3 arguments, given 2",
    ),
    (
        'access_request.spec.creation_time.between(time.RFC3339("2025-08-11T14:00:00Z"), time.RFC3339("2025-08-11T15:00:00Z"))',
        ENV,
        True,
    ),
    (
        'access_request.spec.creation_time.between(time.RFC3339("2025-08-11T14:00:00Z"), time.RFC3339("2025-08-11T15:00:00Z"), time.RFC3339("2025-08-11T15:00:00Z"))',
        ENV,
        "eval_error",
        "evaluating function (between): between expected 2 parameters: got 3",
    ),
    (
        "access_request.spec.creation_time.between()",
        ENV,
        "eval_error",
        "evaluating function (between): between expected 2 parameters: got 0",
    ),
    (
        'access_request.spec.user.between("a", "b")',
        ENV,
        "parse_error",
        "parsing first argument to function (between): expected type time.Time, got expression returning type (string)",
    ),
    (
        "before(access_request.spec.creation_time)",
        ENV,
        "parse_error",
        "function (before) accepts 2 arguments, given 1",
    ),
    # -- semantic versions ------------------------------------------------------------------------
    ('newer_than("1.2.4", "1.2.3")', EMPTY, True),
    ('newer_than("1.2.3", "1.2.3")', EMPTY, False),
    ('older_than("1.0.0-rc.1", "1.0.0")', EMPTY, True),
    ('older_than("1.0.0-2", "1.0.0-10")', EMPTY, True),
    ('older_than("1.0.0-alpha", "1.0.0-2")', EMPTY, False),  # numeric fields sort first
    ('newer_than("1.0.0+build.9", "1.0.0")', EMPTY, False),  # metadata is ignored
    ('between("1.5.0", "1.0.0", "2.0.0")', EMPTY, True),
    ('between("1.0.0", "1.0.0", "2.0.0")', EMPTY, True),  # the low bound is included
    ('between("2.0.0", "1.0.0", "2.0.0")', EMPTY, False),
    ('between("1.5.0", "2.0.0", "1.0.0")', EMPTY, False),  # versions are not swapped
    (
        'newer_than("1.2", "1.0.0")',
        EMPTY,
        "eval_error",
        "evaluating function (newer_than): 1.2 is not in dotted-tri format",
    ),
    (
        'newer_than("1.x.0", "1.0.0")',
        EMPTY,
        "eval_error",
        'evaluating function (newer_than): strconv.ParseInt: parsing "x": invalid syntax',
    ),
    (
        'newer_than(1, "1.0.0")',
        EMPTY,
        "eval_error",
        "evaluating function (newer_than): type int cannot be parsed as semver.Version",
    ),
    (
        'older_than(user.traits.version, "2.0.0")',
        ENV,
        "eval_error",
        "evaluating function (older_than): type expression.Set cannot be parsed as semver.Version",
    ),
    (
        "between(1, 2, 3)",
        EMPTY,
        "eval_error",
        "evaluating function (between): type int cannot be parsed as semver.Version",
    ),
    # -- contains_any, contains_all, is_empty and their methods --------------------------------------
    ('contains_any(access_request.spec.roles, set("x", "dev"))', ENV, True),
    ("contains_any(access_request.spec.roles, set())", ENV, False),
    ('contains_all(access_request.spec.roles, set("dev", "admin"))', ENV, True),
    ("contains_all(access_request.spec.roles, set())", ENV, False),
    ('access_request.spec.roles.contains_any(set("nope"))', ENV, False),
    ('access_request.spec.roles.contains_all(set("dev", "nope"))', ENV, False),
    ("is_empty(access_request.spec.roles)", ENV, False),
    ("is_empty(access_request.spec.roles)", EMPTY, True),
    ("access_request.spec.roles.isempty()", EMPTY, True),
    (
        "contains_any(access_request.spec.roles)",
        ENV,
        "parse_error",
        "function (contains_any) accepts 2 arguments, given 1",
    ),
    (
        'contains_any(access_request.spec.roles, "dev")',
        ENV,
        "parse_error",
        "parsing second argument to (contains_any): expected type expression.Set, got value (dev) with type (string)",
    ),
    (
        'is_empty("")',
        ENV,
        "parse_error",
        "parsing argument to (is_empty): expected type expression.Set, got value () with type (string)",
    ),
    (
        "is_empty(set(), set())",
        ENV,
        "parse_error",
        "function (is_empty) accepts 1 argument, given 2",
    ),
    (
        "access_request.spec.roles.is_empty()",
        ENV,
        "parse_error",
        "expected selector identifier, got: *ast.SelectorExpr",
    ),
    ("isempty(access_request.spec.roles)", ENV, "parse_error", "unsupported function: isempty"),
    (
        "access_request.spec.roles.len()",
        ENV,
        "parse_error",
        "expected selector identifier, got: *ast.SelectorExpr",
    ),
    ("user.foo()", ENV, "parse_error", "unsupported function: user.foo"),
    ('set("a").nope()', ENV, "parse_error", "expected selector identifier, got: *ast.CallExpr"),
    (
        'user.traits["team"].nope()',
        ENV,
        "parse_error",
        "expected selector identifier, got: *ast.IndexExpr",
    ),
    ("nope()", ENV, "parse_error", "unsupported function: nope"),
    ("nope(nothing)", ENV, "parse_error", "unsupported function: nope"),  # the name comes first
    ("(is_empty)(set())", ENV, "parse_error", "unknown function type *ast.ParenExpr"),
    ('set("a")("b")', ENV, "parse_error", "unknown function type *ast.CallExpr"),
    (
        'contains(access_request.spec.roles, "dev")',
        ENV,
        "parse_error",
        "unsupported function: contains",
    ),
    # -- add, remove, put, add_values --------------------------------------------------------------
    ('access_request.spec.roles.add("x").contains("x")', ENV, True),
    ('access_request.spec.roles.add().contains("dev")', ENV, True),
    ('access_request.spec.roles.remove("dev").contains("dev")', ENV, False),
    (
        'user.traits.remove("team").put("k", set("v")).add_values("k", "w").add_values("n", "m")["k"]',
        ENV,
        "parse_error",
    ),
    (
        "access_request.spec.roles.add(1)",
        ENV,
        "parse_error",
        "parsing argument 2 to function (add): expected type string, got value (1) with type (int)",
    ),
    (
        'user.traits.add("x")',
        ENV,
        "parse_error",
        "parsing first argument to function (add): expected type expression.Set, got expression returning type (expression.Dict)",
    ),
    (
        'access_request.spec.user.remove("x")',
        ENV,
        "parse_error",
        "parsing first argument to function (remove): expected type expression.remover, got expression returning type (string)",
    ),
    (
        '"abc".remove("x")',
        ENV,
        "parse_error",
        "parsing first argument to function (remove): expected type expression.remover, got value (abc) with type (string)",
    ),
    (
        'ifelse(true, "abc", set()).remove("x")',
        ENV,
        "eval_error",
        "evaluating first argument to function (remove): expected type expression.remover, got value (abc) with type (string)",
    ),
    ('ifelse(true, set("a"), set()).remove("x").contains("a")', ENV, True),
    (
        'user.traits.remove("team").remove("level").contains("x")',
        ENV,
        "eval_error",
    ),  # a Dict is not a Set
    (
        'user.traits.put("k", "v")',
        ENV,
        "parse_error",
        "parsing third argument to (put): expected type expression.Set, got value (v) with type (string)",
    ),
    (
        "user.traits.add_values()",
        ENV,
        "parse_error",
        "function (add_values) accepts 2 or more arguments, given 1",
    ),
    (
        "access_request.spec.roles.contains()",
        ENV,
        "parse_error",
        "function (contains) accepts 2 arguments, given 1",
    ),
    (
        'access_request.spec.roles.contains("a", "b")',
        ENV,
        "parse_error",
        "function (contains) accepts 2 arguments, given 3",
    ),
    # -- syntax -------------------------------------------------------------------------------------
    ("true\n", EMPTY, True),
    ("\n  true  \n", EMPTY, True),
    ("true &&\n  true", EMPTY, True),
    ("true\n&& true", EMPTY, "parse_error", "expected 'EOF', found '&&'"),
    ("true // a comment", EMPTY, True),
    ("true /* a */ && true", EMPTY, True),
    # A comment with a line break in it is a line break, so Go ends the condition there.
    ("true /* a\ncomment */ && true", EMPTY, "parse_error", "expected 'EOF', found '&&'"),
    ("is_empty(\n  set(),\n)", EMPTY, True),
    ("is_empty(\n  set()\n)", EMPTY, "parse_error", "missing ',' before newline in argument list"),
    ("true true", EMPTY, "parse_error", "expected 'EOF', found true"),
    ("(true", EMPTY, "parse_error", "expected ')', found newline"),
    ("true)", EMPTY, "parse_error", "expected 'EOF', found ')'"),
    ("true &&", EMPTY, "parse_error", "expected operand, found 'EOF'"),
    ("   ", EMPTY, "parse_error", "expected operand, found 'EOF'"),
    ("", EMPTY, "parse_error", "empty expression"),
    ("a.", EMPTY, "parse_error", "expected selector or type assertion, found 'EOF'"),
    ("user.traits.1", EMPTY, "parse_error"),
    ("user.traits[]", EMPTY, "parse_error", "expected operand, found ']'"),
    ("f(a b)", EMPTY, "parse_error", "missing ',' in argument list"),
    ("a = b", EMPTY, "parse_error", "expected 'EOF', found '='"),
    ("x[1:2]", EMPTY, "parse_error", "*ast.SliceExpr is not supported"),
    ('user.traits["a", "b"]', EMPTY, "parse_error", "*ast.IndexListExpr is not supported"),
    ("x.(string)", EMPTY, "parse_error", "*ast.TypeAssertExpr is not supported"),
    ('[]string{"a"}', EMPTY, "parse_error", "*ast.CompositeLit is not supported"),
    ('set{"a"}', EMPTY, "parse_error", "*ast.CompositeLit is not supported"),
    ("func() bool { return true }", EMPTY, "parse_error", "*ast.FuncLit is not supported"),
    ("map[string]string", EMPTY, "parse_error", "*ast.MapType is not supported"),
    ("set(access_request.spec.roles...)", ENV, "parse_error"),
    (
        'set(access_request.spec.user...).contains("alice@example.com")',
        ENV,
        True,
    ),  # "..." is ignored
    ('"unterminated', EMPTY, "parse_error", "string literal not terminated"),
    ("#", EMPTY, "parse_error"),
    ("true;", EMPTY, "parse_error", "expected 'EOF', found ';'"),
]

# Go tests quoted by the reference (sections 3.7 and 4.2).
GO_TESTS: list[tuple[str, Environment, object]] = [
    # TestRecipeints: the requester has team "example"; the other user has no traits.
    (
        'user.traits["team"].contains("example")',
        Environment(user_traits={"team": ["example"]}),
        True,
    ),
    ('user.traits["team"].contains("example")', Environment(), False),
    # TestHandleAccessMonitoringRule: condition `true`.
    ("true", Environment(), True),
    # The PagerDuty suite's rule.
    ("!is_empty(access_request.spec.roles)", Environment(roles=["editor"]), True),
    # Section 3.7 equivalences.
    ('access_request.spec.roles.contains_any(set("a"))', Environment(roles=["a"]), True),
    ('contains_any(access_request.spec.roles, set("a"))', Environment(roles=["a"]), True),
    ('user.traits["x"].isempty() && set().isempty()', Environment(), True),
    ("contains_all(access_request.spec.roles, set())", Environment(roles=["a"]), False),
    (
        'strings.lower(user.traits.username) == "alice"',
        Environment(user_traits={"username": ["alice"]}),
        "eval_error",
    ),
]


def _id(text: str) -> str:
    return " ".join(text.split())[:70] or "<empty>"


@pytest.mark.parametrize("vector", VECTORS, ids=[_id(v[0]) for v in VECTORS])
def test_condition_gives_teleports_outcome(vector: tuple[object, ...]) -> None:
    text, env, expected = vector[:3]
    assert isinstance(text, str)
    assert isinstance(env, Environment)
    got, problem = outcome(text, env)
    assert got == expected, problem
    if len(vector) == 4:
        assert problem == vector[3]


@pytest.mark.parametrize("vector", GO_TESTS, ids=[_id(v[0]) for v in GO_TESTS])
def test_go_test_case_gives_teleports_outcome(vector: tuple[str, Environment, object]) -> None:
    text, env, expected = vector
    assert outcome(text, env)[0] == expected
