"""Evaluation: a checked tree is compiled once into nested closures, then called per environment.

Each node becomes a small function of the environment. Calls whose arguments are all constants
(`set("a", "b")`, `time.RFC3339("...")`) are folded when compiling, unless they fail (then they
fail at evaluation, as in Teleport); `&&`/`||` short-circuit left to right; arguments are
evaluated left to right before the function, as typical does. A call therefore does no dispatch on
node kinds, which keeps evaluation in the millions per second for ordinary conditions.

Errors are PredicateEvalError pointing at the node that failed, with Teleport's message: the
chain of typical's wrappers from the root down to the failure ("evaluating lhs of (&&) operator:
evaluating first argument to function (contains): ..."). The chain depends only on where the node
sits in the tree, so it is computed here, once, and costs nothing while nothing fails.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Final

from teleport_access.predicate._ast import (
    And,
    Compare,
    Index,
    Literal,
    Node,
    Not,
    Or,
    Variable,
)
from teleport_access.predicate._builtins import Failure
from teleport_access.predicate._checker import CheckedCall
from teleport_access.predicate._errors import PredicateEvalError
from teleport_access.predicate._values import (
    EMPTY_SET,
    GoType,
    go_type_name,
    go_value,
    has_type,
)

if TYPE_CHECKING:
    from teleport_access.predicate._environment import Environment

Fn = Callable[["Environment"], Any]

#: How each variable is read from an Environment.
GETTERS: Final[dict[str, Fn]] = {
    "access_request.spec.roles": attrgetter("roles"),
    "access_request.spec.suggested_reviewers": attrgetter("suggested_reviewers"),
    "access_request.spec.system_annotations": attrgetter("system_annotations"),
    "access_request.spec.user": attrgetter("user"),
    "access_request.spec.request_reason": attrgetter("request_reason"),
    "access_request.spec.creation_time": attrgetter("creation_go_time"),
    "access_request.spec.expiry": attrgetter("expiry_go_time"),
    "access_request.spec.resource_labels_union": attrgetter("resource_labels_union"),
    "access_request.spec.resource_labels_intersection": attrgetter("resource_labels_intersection"),
    "user.traits": attrgetter("user_traits"),
}

_NO_VALUE: Final = object()


def _const(value: object) -> Fn:
    return lambda env: value


class Compiler:
    """Compiles the checked tree of one condition; keeps every node's function for explain()."""

    def __init__(self, text: str) -> None:
        self.text = text
        #: The compiled function of each node, by id().
        self.functions: dict[int, Fn] = {}
        #: The value of each node that is a constant, by id().
        self.constants: dict[int, object] = {}

    def error(self, message: str, node: Node) -> PredicateEvalError:
        return PredicateEvalError(message, text=self.text, offset=node.start, end_offset=node.end)

    def constant(self, node: Node) -> object:
        return self.constants.get(id(node), _NO_VALUE)

    def compile(self, node: Node, prefix: str = "") -> Fn:
        fn = self._compile(node, prefix)
        self.functions[id(node)] = fn
        return fn

    def _compile(self, node: Node, prefix: str) -> Fn:
        if isinstance(node, Literal):
            self.constants[id(node)] = node.value
            return _const(node.value)
        if isinstance(node, Variable):
            return GETTERS[node.name]
        if isinstance(node, And | Or):
            return self.logical(node, prefix)
        if isinstance(node, CheckedCall):
            return self.call(node, prefix)
        if isinstance(node, Not):
            operand = self.operand(node.operand, GoType.BOOL, prefix + _TARGET)
            return lambda env: not operand(env)
        if isinstance(node, Index):
            return self.index(node, prefix)
        assert isinstance(node, Compare)
        return self.compare(node, prefix)

    def operand(self, node: Node, expected: GoType, prefix: str) -> Fn:
        """`node` compiled, with typical's run-time type check when its static type is `any`."""
        fn = self.compile(node, prefix)
        if node.type is not GoType.ANY or expected is GoType.ANY:
            return fn
        error = self.error
        if expected in (GoType.SET, GoType.STRING, GoType.BOOL, GoType.INT):
            exact = {GoType.SET: frozenset, GoType.STRING: str, GoType.BOOL: bool, GoType.INT: int}[
                expected
            ]

            def checked_exact(env: Environment) -> Any:
                value = fn(env)
                if type(value) is not exact:
                    raise error(prefix + _mismatch(value, expected), node)
                return value

            return checked_exact

        def checked(env: Environment) -> Any:
            value = fn(env)
            if not has_type(value, expected):
                raise error(prefix + _mismatch(value, expected), node)
            return value

        return checked

    # -- operators ------------------------------------------------------------------------------

    def logical(self, node: And | Or, prefix: str) -> Fn:
        op = node.op
        n = len(node.operands)
        lhs, rhs = f"evaluating lhs of ({op}) operator: ", f"evaluating rhs of ({op}) operator: "
        fns = []
        for i, operand in enumerate(node.operands):
            # Go's tree is left-deep: ((a && b) && c).
            path = lhs * (n - 1) if i == 0 else lhs * (n - 1 - i) + rhs
            fns.append(self.operand(operand, GoType.BOOL, prefix + path))
        if n == 2:
            a, b = fns
            if isinstance(node, And):
                return lambda env: a(env) and b(env)
            return lambda env: a(env) or b(env)
        functions = tuple(fns)
        if isinstance(node, And):

            def all_of(env: Environment) -> bool:
                for fn in functions:  # noqa: SIM110 (a loop is faster than all() here)
                    if not fn(env):
                        return False
                return True

            return all_of

        def any_of(env: Environment) -> bool:
            for fn in functions:  # noqa: SIM110
                if fn(env):
                    return True
            return False

        return any_of

    def compare(self, node: Compare, prefix: str) -> Fn:
        kind = node.operand_type
        left = self.operand(node.left, kind, prefix + f"evaluating lhs of ({node.op}) operator: ")
        right = self.operand(node.right, kind, prefix + f"evaluating rhs of ({node.op}) operator: ")
        value = self.constant(node.right)
        if value is not _NO_VALUE and has_type(value, kind):
            if node.op == "==":
                return lambda env: left(env) == value
            return lambda env: left(env) != value
        if node.op == "==":
            return lambda env: left(env) == right(env)
        return lambda env: left(env) != right(env)

    def index(self, node: Index, prefix: str) -> Fn:
        base = self.compile(node.base, prefix)
        key_fn = self.operand(
            node.key, GoType.STRING, prefix + "evaluating key of index expression: "
        )
        key = self.constant(node.key)
        if type(key) is str:
            return lambda env: base(env).get(key, EMPTY_SET)
        return lambda env: base(env).get(key_fn(env), EMPTY_SET)

    # -- calls ----------------------------------------------------------------------------------

    def call(self, node: CheckedCall, prefix: str) -> Fn:
        signature = node.signature
        fns = tuple(
            self.operand(arg, node.expects[i], prefix + signature.eval_context(node.name, i) + ": ")
            for i, arg in enumerate(node.args)
        )
        impl = signature.impl
        values = [self.constant(arg) for arg in node.args]
        if (
            signature.pure
            and _NO_VALUE not in values
            and all(has_type(v, node.expects[i]) for i, v in enumerate(values))
        ):
            try:
                folded = impl(*values)
            except Failure:
                pass  # Teleport fails when it evaluates; so do we
            else:
                self.constants[id(node)] = folded
                return _const(folded)
        fast = self.fast_call(node, fns, values)
        if fast is not None:
            return fast
        fail = prefix + f"evaluating function ({node.name}): "
        error = self.error

        if len(fns) == 1:
            (only,) = fns

            def call_one(env: Environment) -> Any:
                argument = only(env)
                try:
                    return impl(argument)
                except Failure as exc:
                    raise error(fail + str(exc), node) from None

            return call_one

        if len(fns) == 2:
            first, second = fns

            def call_two(env: Environment) -> Any:
                a = first(env)
                b = second(env)
                try:
                    return impl(a, b)
                except Failure as exc:
                    raise error(fail + str(exc), node) from None

            return call_two

        def call_any(env: Environment) -> Any:
            arguments = [fn(env) for fn in fns]
            try:
                return impl(*arguments)
            except Failure as exc:
                raise error(fail + str(exc), node) from None

        return call_any

    def fast_call(self, node: CheckedCall, fns: tuple[Fn, ...], values: list[object]) -> Fn | None:
        """Closures for the calls conditions use most; they cannot fail."""
        name = node.name
        if name in ("is_empty", "isempty"):
            (items,) = fns
            return lambda env: not items(env)
        if name == "contains" and node.method:
            item = values[1]
            if type(item) is not str:
                return None
            receiver = node.args[0]
            key = self.constant(receiver.key) if isinstance(receiver, Index) else _NO_VALUE
            if isinstance(receiver, Index) and isinstance(key, str):
                mapping = GETTERS[receiver.base.name]
                return lambda env: item in mapping(env).get(key, EMPTY_SET)
            items = fns[0]
            return lambda env: item in items(env)
        if name == "contains_any" and type(values[1]) is frozenset:
            wanted = values[1]
            have = fns[0]
            return lambda env: not wanted.isdisjoint(have(env))
        return None


_TARGET: Final = "evaluating target of (!) operator: "


def _mismatch(value: object, expected: GoType) -> str:
    return (
        f"expected type {expected.value}, got value ({go_value(value)}) "
        f"with type ({go_type_name(value)})"
    )
