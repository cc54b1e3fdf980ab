"""Pure decisions for every access-request event: what to page, note, resolve and approve.

No I/O. The daemon reads the request's plugin data, calls `plan(event, data, settings,
plugin_user=...)`, and carries out the returned steps in order. Every step is safe to repeat: the
daemon may crash half-way, another replica may handle the same request, the same event may come
twice (the watcher replays requests after each reconnect), and events may be seen out of order.
Safety comes from two things: the compare-and-swap transitions below, which the daemon runs
against Teleport's plugin data (each may run several times, so each is a pure function of the
current record), and PagerDuty's `incident_key`, which finds an incident created by a run that
died before recording it. `plan` trusts the request it is given: the daemon should pass the
newest state it knows (a stale PENDING snapshot of a request that is already resolved and was
never paged would open an incident nothing resolves).

How the daemon carries out each step:

* `EnsureIncident`: find the service by name (not found: log and stop); CAS `claim_request`;
  find an incident by `incident_key`, create one only if there is none; CAS `record_incident`.
* `AdoptIncident`: find an incident by `incident_key` only (never create); if found, CAS
  `record_incident`. Used when a request was resolved before its incident id was recorded.
* `PostReviewNotes`: CAS `claim_review_notes(current, len(step.notes))`; post `step.notes[i]`
  for each `i` in the claimed range. Claiming first means each note is posted at most once
  across replicas; if posting finally fails, CAS `release_review_notes` hands the unposted ones
  back so the next event retries them.
* `ResolveIncident`: CAS `claim_resolution`; post `step.note`, then set the incident resolved.
  If that finally fails, CAS `release_resolution` so the next event retries (the note may then
  appear twice; the Go plugin would lose the resolution instead).
* `ConsiderApproval`: find the PagerDuty user by the requester's email and the services named in
  `step.service_names`, list the user's on-call entries in those services' escalation policies,
  call `decide_approval`, and submit an APPROVED review with `Approve.reason`. Teleport's
  `AlreadyReviewed` means another run got there first.
* `Skip`: log `why` (at debug, or warning when `warning` is set). Nothing to do.

Compared with the Go plugin: a failed incident creation is retried (the Go plugin never does);
approval is considered on every event of a pending request that the plugin has not reviewed
yet, not only when its incident was just created; a deleted request is resolved as expired only
when it has an incident and no resolution; `[pagerduty.auto_approval]` limits apply.
"""

from teleport_pd_cli._email import is_exact_email, same_email
from teleport_pd_cli.policy._annotations import approval_service_names, notify_service_name
from teleport_pd_cli.policy._approval import (
    APPROVAL_CHECKS,
    ApprovalCheck,
    Approve,
    OnCall,
    PagerDutyFacts,
    PagerDutyService,
    PagerDutyUser,
    approval_checks,
    decide_approval,
    first_failure,
    oncall_checks,
    precheck_approval,
)
from teleport_pd_cli.policy._freshness import REMEMBERED, RequestStates
from teleport_pd_cli.policy._notes import missing_notes, note_key, same_note
from teleport_pd_cli.policy._plan import RESOLUTION_BY_STATE, needs_incident, plan
from teleport_pd_cli.policy._repair import (
    DelayedRepairs,
    MissingNotes,
    Remembered,
    RepairWait,
    choose_incident,
    needs_sweep,
    note_repairs,
    resolution_repairs,
)
from teleport_pd_cli.policy._routing import (
    TOO_MANY_RECIPIENTS,
    Route,
    RouteSource,
    RuleMatch,
    route_notification,
)
from teleport_pd_cli.policy._rules import (
    CompiledRule,
    FailureKind,
    RuleEvaluation,
    RuleFailure,
    RuleVerdict,
    compile_rule,
    evaluate_rules,
)
from teleport_pd_cli.policy._settings import PolicySettings
from teleport_pd_cli.policy._steps import (
    AdoptIncident,
    ConsiderApproval,
    EnsureIncident,
    PostReviewNotes,
    ResolveIncident,
    Skip,
    Step,
)
from teleport_pd_cli.policy._texts import (
    INCIDENT_KEY_PREFIX,
    approval_reason,
    format_rfc822,
    incident_body,
    incident_key,
    incident_title,
    request_id_from_incident_key,
    request_link,
    resolution_note,
    review_note,
    web_proxy_url,
)
from teleport_pd_cli.policy._transitions import (
    claim_request,
    claim_resolution,
    claim_review_notes,
    record_incident,
    release_resolution,
    release_review_notes,
)
from teleport_pd_cli.policy.plugindata import PagerDutyData, ResolutionTag

__all__ = [
    "APPROVAL_CHECKS",
    "INCIDENT_KEY_PREFIX",
    "REMEMBERED",
    "RESOLUTION_BY_STATE",
    "TOO_MANY_RECIPIENTS",
    "AdoptIncident",
    "ApprovalCheck",
    "Approve",
    "CompiledRule",
    "ConsiderApproval",
    "DelayedRepairs",
    "EnsureIncident",
    "FailureKind",
    "MissingNotes",
    "OnCall",
    "PagerDutyData",
    "PagerDutyFacts",
    "PagerDutyService",
    "PagerDutyUser",
    "PolicySettings",
    "PostReviewNotes",
    "Remembered",
    "RepairWait",
    "RequestStates",
    "ResolutionTag",
    "ResolveIncident",
    "Route",
    "RouteSource",
    "RuleEvaluation",
    "RuleFailure",
    "RuleMatch",
    "RuleVerdict",
    "Skip",
    "Step",
    "approval_checks",
    "approval_reason",
    "approval_service_names",
    "choose_incident",
    "claim_request",
    "claim_resolution",
    "claim_review_notes",
    "compile_rule",
    "decide_approval",
    "evaluate_rules",
    "first_failure",
    "format_rfc822",
    "incident_body",
    "incident_key",
    "incident_title",
    "is_exact_email",
    "missing_notes",
    "needs_incident",
    "needs_sweep",
    "note_key",
    "note_repairs",
    "notify_service_name",
    "oncall_checks",
    "plan",
    "precheck_approval",
    "record_incident",
    "release_resolution",
    "release_review_notes",
    "request_id_from_incident_key",
    "request_link",
    "resolution_note",
    "resolution_repairs",
    "review_note",
    "route_notification",
    "same_email",
    "same_note",
    "web_proxy_url",
]
