"""`can_review`: Teleport's review permission check (`ReviewPermissionChecker.CanReviewRequest`).

1. Nobody reviews their own request.
2. Every reviewer role contributes its `allow` and `deny` `review_requests` matchers (from
   `roles` and, through the reviewer's traits, `claims_to_roles`) to a group keyed by the
   rule's `where` text; roles with the same `where` share a group.
3. Deny groups first: a group whose `where` is empty or true denies the review if any of its
   matchers matches any requested role.
4. Then allow groups: every requested role must be matched by some group whose `where` is empty
   or true. A request that names no roles needs nothing and is reviewable.

Teleport walks the groups in Go's random map order and returns the first error it meets, so
whether a broken `where` surfaces can vary from call to call. Here every non-empty `where` of the
reviewer's roles is parsed and evaluated before deciding, so a broken expression is always
reported (as the WhereError it is); groups are then visited in role order, which makes the
decision and its explanation deterministic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from teleport_access._models import AccessRequest, ReviewConditions, Role
from teleport_access.where._context import Context, Request, Reviewer
from teleport_access.where._errors import WhereError, WhereEvalError
from teleport_access.where._expression import DialectName, parse_cached
from teleport_access.where._matchers import (
    MatcherError,
    RoleMatcher,
    role_matchers,
    traits_to_role_matchers,
)


@attrs.frozen(kw_only=True)
class ReviewDecision:
    """Whether a reviewer may review a request, and why. Truthy when allowed."""

    allowed: bool
    #: A sentence saying why, naming the roles, matchers and `where` expressions involved.
    reason: str
    #: The requested role that decided: the one a deny rule matched, the one no allow rule
    #: covers, or (when allowed) the last one to be covered. None when no role decided.
    role: str | None = None
    #: The reviewer role whose rule decided (for a refusal by missing allow rule: the role that
    #: would have allowed it but whose `where` was false, if any).
    group: str | None = None
    #: The `where` text of that rule ("" when it has none).
    where: str | None = None

    def __bool__(self) -> bool:
        return self.allowed


@attrs.frozen
class _Group:
    where: str
    matchers: list[RoleMatcher] = attrs.field(factory=list)
    #: The first reviewer role that contributed this `where`, for error messages.
    first_role: str = ""


def _conditions(role: Role, side: str) -> ReviewConditions | None:
    conditions = role.allow if side == "allow" else role.deny
    return conditions.review_requests


def _collect(
    roles: Sequence[Role], traits: Mapping[str, Sequence[str]], side: str
) -> dict[str, _Group]:
    groups: dict[str, _Group] = {}
    for role in roles:
        conditions = _conditions(role, side)
        if conditions is None:
            continue
        try:
            matchers = role_matchers(conditions.roles, role.name)
            matchers += traits_to_role_matchers(conditions.claims_to_roles, traits, role.name)
        except MatcherError as exc:
            text = " ".join(conditions.roles)
            raise WhereEvalError(
                f'role "{role.name}" {side}.review_requests: {exc}',
                text=text,
                offset=0,
                end_offset=len(text),
            ) from exc
        group = groups.setdefault(
            conditions.where, _Group(where=conditions.where, first_role=role.name)
        )
        group.matchers.extend(matchers)
    return groups


def _evaluate_where(group: _Group, side: str, ctx: Context, dialect: DialectName) -> bool:
    if not group.where:
        return True
    try:
        return parse_cached(group.where, "where", dialect).evaluate(ctx)
    except WhereError as exc:
        # Say which role the broken expression belongs to; keep its position and caret.
        raise type(exc)(
            f'role "{group.first_role}" {side}.review_requests.where: {exc.problem}',
            text=exc.text,
            offset=exc.offset,
            end_offset=exc.end_offset,
            hint=exc.hint,
        ) from exc


def _rule(matcher: RoleMatcher, where: str) -> str:
    source = "claims_to_roles" if matcher.from_claims else "roles"
    condition = f", where {where} is true" if where else ""
    return f'role "{matcher.source_role}" ({source} matcher "{matcher.pattern}"{condition})'


def can_review(
    reviewer_roles: Sequence[Role],
    reviewer_traits: Mapping[str, Sequence[str]],
    reviewer_name: str,
    request: AccessRequest,
    *,
    dialect: DialectName = "typical",
) -> ReviewDecision:
    """May the reviewer (their static roles and traits) review this access request?

    Pure: no I/O. Raises WhereError subclasses for a `where` that does not parse or evaluate and
    WhereEvalError for an invalid role matcher, where Teleport also fails.
    """
    if reviewer_name == request.user:
        return ReviewDecision(
            allowed=False, reason=f'"{reviewer_name}" cannot review their own access request'
        )
    ctx = Context(
        reviewer=Reviewer(roles=[role.name for role in reviewer_roles], traits=reviewer_traits),
        request=Request.from_access_request(request),
    )
    deny = _collect(reviewer_roles, ctx.reviewer.traits, "deny")
    allow = _collect(reviewer_roles, ctx.reviewer.traits, "allow")
    deny_active = {where: _evaluate_where(g, "deny", ctx, dialect) for where, g in deny.items()}
    allow_active = {where: _evaluate_where(g, "allow", ctx, dialect) for where, g in allow.items()}
    requested = request.roles

    for where, group in deny.items():
        if not deny_active[where]:
            continue
        for role in requested:
            for matcher in group.matchers:
                if matcher.match(role):
                    return ReviewDecision(
                        allowed=False,
                        reason=f'reviewing requested role "{role}" is denied by '
                        f"{_rule(matcher, where)}",
                        role=role,
                        group=matcher.source_role,
                        where=where,
                    )

    needs = list(requested)
    covered: list[tuple[str, RoleMatcher, str]] = []
    for where, group in allow.items():
        if not needs:
            break
        if not allow_active[where]:
            continue
        remaining = []
        for role in needs:
            found = next((m for m in group.matchers if m.match(role)), None)
            if found is None:
                remaining.append(role)
            else:
                covered.append((role, found, where))
        needs = remaining

    if not needs:
        if not covered:
            return ReviewDecision(
                allowed=True,
                reason="the request names no roles, so no allow rule is needed",
            )
        role, matcher, where = covered[-1]
        parts = "; ".join(f'"{r}" by {_rule(m, w)}' for r, m, w in covered)
        return ReviewDecision(
            allowed=True,
            reason=f"every requested role may be reviewed: {parts}",
            role=role,
            group=matcher.source_role,
            where=where,
        )

    missing = needs[0]
    for where, group in allow.items():
        if allow_active[where]:
            continue
        would = next((m for m in group.matchers if m.match(missing)), None)
        if would is not None:
            return ReviewDecision(
                allowed=False,
                reason=f'requested role "{missing}" is matched by role "{would.source_role}" '
                f'(matcher "{would.pattern}"), but its where is false: {where}',
                role=missing,
                group=would.source_role,
                where=where,
            )
    if not any(group.matchers for group in allow.values()):
        reason = "the reviewer's roles have no review_requests allow rules"
    else:
        reason = (
            f"no review_requests allow rule of the reviewer's roles matches requested role "
            f'"{missing}"'
        )
    return ReviewDecision(allowed=False, reason=reason, role=missing)
