"""Carrying out the policy for one access-request event: the daemon's hands.

`Processor.handle(event)` reads the request's plugin data, asks `policy.plan` what to do, and
does it, exactly as the policy module's docstring prescribes for each step:

* `EnsureIncident`: service by name (cached), CAS `claim_request`, then the incident: created
  at once when our claim made the record (nobody can have paged before a record exists), else
  first looked up by `incident_key` (an earlier run may have created it and died before
  recording it); CAS `record_incident`.
* `AdoptIncident`: look up by `incident_key` only; record what is found.
* `PostReviewNotes`: CAS `claim_review_notes`, post the claimed notes, CAS
  `release_review_notes` for the ones that could not be posted. After a failure that leaves it
  unknown whether PagerDuty added the note (a lost answer, a 5xx), the incident's notes are
  looked at first: a note that is there counts as posted and is not handed back (handing it
  back would post it twice).
* `ResolveIncident`: CAS `claim_resolution`; post the resolution note unless the incident
  already has it (a release after a failed resolve may have left it there), resolve (already
  resolved counts as done); CAS `release_resolution` if that fails. When another run holds
  the claim, the resolution is checked like a recorded one (below), so a claimer that died is
  noticed even if no further event comes.
* `ConsiderApproval`: PagerDuty user by email, services by name, on-call entries of their
  escalation policies, `decide_approval`; optionally a `where` pre-check with the plugin's own
  roles that explains a refusal; then an APPROVED review authored by the plugin user.

Three things the plan cannot see are handled here:

* **Newest state.** The processor remembers the newest version of every request it has seen
  (`RequestStates`). An event that is provably older (fewer reviews, or pending after resolved)
  is handled with the newer version instead, and an update of a request already seen deleted is
  ignored. So retries and repair events injected by the daemon can never move a request back.
* **Interrupted resolutions.** A record whose resolution is claimed but whose incident is still
  open in PagerDuty means a run died between the claim and the resolve, or another replica is in
  the middle of it. The first sighting only notes it and asks for a recheck after `repair_after`
  seconds (longer than any handler may run); if nothing changed by then, the resolution is
  finished here (note posted only if missing, then resolved). Each incident is checked once per
  process.
* **Claimed but missing review notes.** Notes are claimed before they are posted, so a run that
  dies in between (or a handler cancelled by its timeout) leaves a claimed note that nobody
  posts. Whoever resolves an incident, finishes an interrupted resolution, or checks a recorded
  one has the incident's notes in hand anyway and compares them with the request's claimed
  reviews; a claimed note that is missing is posted after `repair_after` seconds if it is still
  missing and still claimed then (its poster has finished or given up by then). For a request
  deleted meanwhile, the reviews are those of its newest state seen by this process (none
  after a restart: such a note is then not repaired). A review note is recognised by its
  author, not its whole text, so one the Go plugin wrote with another time zone counts.

Failures of single steps (PagerDuty or Teleport errors) are logged and collected: the other
steps still run (an approval does not wait for a page that failed), and the daemon re-attempts
the request later (`Outcome.ok` is False). Bugs propagate.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from pagerduty_client import PagerDutyError
from teleport_access import (
    AccessDenied,
    AccessRequest,
    AccessRequestEvent,
    AccessRequestPut,
    AlreadyResolved,
    AlreadyReviewed,
    RequestState,
    TeleportError,
    modify_plugin_data,
)
from teleport_pd_cli import policy
from teleport_pd_cli._logfields import FieldsAdapter, bind
from teleport_pd_cli.daemon.approval_facts import pagerduty_facts, review_permission
from teleport_pd_cli.daemon.events import (
    ApprovalOutcome,
    IncidentCreated,
    IncidentResolved,
    NotesPosted,
    Observer,
    RuleEvaluationFailed,
)
from teleport_pd_cli.policy.plugindata import PLUGIN_NAME, PagerDutyData, decode, encode

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pagerduty_client import AsyncPagerDutyClient, Incident, OnCall
    from teleport_access import AuthClient
    from teleport_pd_cli.daemon._lookups import Lookups
    from teleport_pd_cli.daemon._rules import RuleCache

__all__ = ["Outcome", "Processor"]

logger = logging.getLogger(__name__)

#: Failures a step may meet that are the world's fault, not ours: logged, retried later.
_STEP_ERRORS = (PagerDutyError, TeleportError)


@attrs.frozen(kw_only=True)
class Outcome:
    """What handling one event came to."""

    #: One line per failed step ("to create the PagerDuty incident: HTTP 500 ...").
    errors: tuple[str, ...] = ()
    #: Look at the request again after this many seconds (an interrupted resolution).
    recheck_after: float | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


class _Approval(enum.Enum):
    """What this run's approval step came to (for `EnsureIncident.unless_approved`)."""

    #: tpd's approving review resolved the request.
    APPROVED = "approved"
    #: The request was resolved otherwise before tpd's review (by another replica's review,
    #: or someone else's decision): nothing left to page for.
    RESOLVED = "resolved"
    #: tpd does not approve it, or its approval left it pending (more approvals needed).
    NOT_APPROVED = "not approved"
    #: It could not be decided (PagerDuty or Teleport failed); the request is re-attempted.
    FAILED = "failed"


class _Run:
    """The state of one `handle` call: log context, failures, a wanted recheck, the request
    (for a deleted one, its newest state seen before the deletion, if any), and what its
    approval step came to."""

    def __init__(self, log: FieldsAdapter, request: AccessRequest | None) -> None:
        self.log = log
        self.request = request
        self.errors: list[str] = []
        self.recheck_after: float | None = None
        self.approval: _Approval | None = None

    def fail(self, doing: str, error: BaseException) -> None:
        self.errors.append(f"{doing}: {error}")
        self.log.error("Failed %s: %s", doing, error)

    def recheck(self, delay: float) -> None:
        """Ask to be handled again after `delay` seconds (the earliest request wins)."""
        if self.recheck_after is None or delay < self.recheck_after:
            self.recheck_after = delay

    def outcome(self) -> Outcome:
        return Outcome(errors=tuple(self.errors), recheck_after=self.recheck_after)


class Processor:
    """Handles access-request events for the daemon; see the module docstring.

    Not a scheduler: the daemon runs `handle` for one request at a time (the dispatcher's
    per-request order), so nothing here guards against concurrent calls for the same request.
    Different requests may be handled concurrently.
    """

    def __init__(
        self,
        *,
        auth: AuthClient,
        pagerduty: AsyncPagerDutyClient,
        lookups: Lookups,
        rules: RuleCache | None = None,
        settings: policy.PolicySettings,
        plugin_user: str,
        plugin_roles: Sequence[str] = (),
        observer: Observer | None = None,
        cas_timeout: float = 30.0,
        repair_after: float = 35.0,
        precheck_reviews: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._auth = auth
        self._pd = pagerduty
        self._lookups = lookups
        #: The applicable Access Monitoring Rules (None: not followed; routing by annotation).
        self._rules = rules
        self._traits_denied_logged = False
        self.settings = settings
        self.plugin_user = plugin_user
        self._plugin_roles = tuple(plugin_roles)
        self._observer = observer if observer is not None else Observer()
        self._cas_timeout = cas_timeout
        self.repair_after = repair_after
        self._precheck = precheck_reviews
        self._clock = clock
        self.states = policy.RequestStates()
        #: Incidents known to be resolved in PagerDuty (checked once per process).
        self._verified: policy.Remembered[str] = policy.Remembered(policy.REMEMBERED)
        self._unfinished_resolutions = policy.resolution_repairs(repair_after)
        self._missing_notes = policy.note_repairs(repair_after)
        self._precheck_unavailable_logged = False

    # -- the entry point -----------------------------------------------------------------------

    async def handle(self, event: AccessRequestEvent) -> Outcome:
        """Make PagerDuty (and the approval) match this request's state."""
        op = "put" if isinstance(event, AccessRequestPut) else "delete"
        log = bind(logger, request_id=event.request_id, request_op=op)
        known: AccessRequest | None
        if isinstance(event, AccessRequestPut):
            newest = self.states.observe_put(event.request)
            if newest is None:
                log.debug("Ignoring an update of a request already seen deleted")
                return Outcome()
            if newest is not event.request:
                log.debug("Handling the newer state of the request seen earlier")
                event = AccessRequestPut(request=newest, reconciled=event.reconciled)
            log = log.bind(request_state=newest.state.name)
            known = newest
        else:
            known = self.states.latest(event.request_id)
            self.states.observe_delete(event.request_id)
        run = _Run(log, known)
        try:
            data = await self._read(event.request_id)
        except TeleportError as exc:
            run.fail("to read the plugin data", exc)
            return run.outcome()
        if data is not None and data.incident_id:
            run.log = run.log.bind(pd_incident_id=data.incident_id)
        route = None
        if (
            isinstance(event, AccessRequestPut)
            and event.request.state.is_pending
            and policy.needs_incident(data)
        ):
            route = await self._route(event.request, run)
        steps = policy.plan(event, data, self.settings, plugin_user=self.plugin_user, route=route)
        for step in steps:
            await self._execute(step, event, run)
        if data is not None and data.is_resolved and data.has_incident:
            await self._verify_resolution(event.request_id, data, run)
        if event.request_id in self._missing_notes:
            await self._recheck_missing_notes(event.request_id, run)
        return run.outcome()

    async def _route(self, request: AccessRequest, run: _Run) -> policy.Route:
        """Where the request's incident goes: the rules that match it (their conditions parsed
        once per revision; the requester's traits read only when a condition uses them), else
        the annotation (`policy.route_notification`)."""
        matches: tuple[policy.RuleMatch, ...] = ()
        rules = self._rules
        if rules is not None and len(rules):
            traits = await self._requester_traits(request.user, run) if rules.reads_traits else {}
            evaluation = policy.evaluate_rules(rules.rules, request, traits)
            rules.report(evaluation, run.log)
            for failure in evaluation.failures:
                self._observer.emit(
                    RuleEvaluationFailed(
                        request_id=request.id, rule=failure.rule, kind=failure.kind.value
                    )
                )
            matches = evaluation.matches
        route = policy.route_notification(
            request, matches, self.settings.annotations.notify_service
        )
        if route.source is policy.RouteSource.RULE:
            run.log.info(
                "Routing the request to %s", route.describe(), extra={"amr_rules": route.rules}
            )
        return route

    async def _requester_traits(self, user: str, run: _Run) -> Mapping[str, Sequence[str]]:
        """The requester's traits for rule conditions; none when they cannot be read."""
        try:
            return await self._lookups.traits(user)
        except AccessDenied as exc:
            level = logging.DEBUG if self._traits_denied_logged else logging.WARNING
            self._traits_denied_logged = True
            run.log.log(
                level,
                "Missing permissions to read user.traits, please add user.read to the "
                "associated role (%s); evaluating the rules without traits",
                exc,
            )
        except TeleportError as exc:
            run.log.warning("Failed to read user.traits (%s); evaluating without them", exc)
        return {}

    async def _execute(self, step: policy.Step, event: AccessRequestEvent, run: _Run) -> None:
        request = event.request if isinstance(event, AccessRequestPut) else None
        if isinstance(step, policy.Skip):
            level = logging.WARNING if step.warning else logging.DEBUG
            run.log.log(level, "Skipping the %s: %s", step.what, step.why)
            return
        try:
            if isinstance(step, policy.EnsureIncident):
                assert request is not None
                if step.unless_approved and run.approval is not _Approval.NOT_APPROVED:
                    self._hold_page(run)
                    return
                await self._ensure_incident(step, request, run)
            elif isinstance(step, policy.AdoptIncident):
                await self._adopt_incident(step, event.request_id, run)
            elif isinstance(step, policy.PostReviewNotes):
                await self._post_review_notes(step, event.request_id, run)
            elif isinstance(step, policy.ResolveIncident):
                await self._resolve(step, event.request_id, run)
            else:
                assert request is not None
                await self._consider_approval(step, request, run)
        except _STEP_ERRORS as exc:
            run.fail(_DOING[type(step)], exc)

    # -- plugin data ---------------------------------------------------------------------------

    async def _read(self, request_id: str) -> PagerDutyData | None:
        stored = await self._auth.get_plugin_data(request_id, PLUGIN_NAME)
        return decode(stored.data) if stored is not None else None

    async def _cas(
        self,
        request_id: str,
        transition: Callable[[PagerDutyData | None], PagerDutyData | None],
    ) -> tuple[bool, PagerDutyData | None]:
        """Run a pure policy transition under compare-and-swap; (written, data after)."""

        def modify(current: Mapping[str, str] | None) -> Mapping[str, str] | None:
            new = transition(decode(current))
            return None if new is None else encode(new)

        result = await modify_plugin_data(
            self._auth, request_id, PLUGIN_NAME, modify, timeout=self._cas_timeout
        )
        return result.written, decode(result.current)

    # -- steps ---------------------------------------------------------------------------------

    async def _find_incident(self, key: str) -> Incident | None:
        """The incident with this key: an open one if any, else the newest."""
        return policy.choose_incident(await self._pd.find_incidents(incident_key=key))

    async def _ensure_incident(
        self, step: policy.EnsureIncident, request: AccessRequest, run: _Run
    ) -> None:
        run.log = run.log.bind(pd_service_name=step.service_name)
        service = await self._lookups.service(step.service_name)
        if service is None:
            run.log.warning(
                "Skipping the notification: PagerDuty has no service named %r; check %s",
                step.service_name,
                step.routed_by,
            )
            return
        claimed, current = await self._cas(
            request.id, lambda data: policy.claim_request(data, request)
        )
        if current is not None and current.has_incident:
            run.log = run.log.bind(pd_incident_id=current.incident_id)
            run.log.debug("The incident was recorded meanwhile by another run")
            return
        # A record we just created cannot have an incident yet: every run records before it
        # pages. Otherwise an earlier run may have paged and died before recording it.
        existing = None if claimed else await self._find_incident(step.incident_key)
        if existing is None:
            incident = await self._pd.create_incident(
                service.id, step.title, step.body, step.incident_key
            )
        else:
            incident = existing
        _, after = await self._cas(
            request.id,
            lambda data: policy.record_incident(
                data, service_id=service.id, incident_id=incident.id, request=request
            ),
        )
        recorded = after.incident_id if after is not None else ""
        run.log = run.log.bind(pd_incident_id=recorded or incident.id)
        if recorded and recorded != incident.id:
            run.log.warning(
                "Another run recorded incident %s for this request first; incident %s is "
                "not tracked",
                recorded,
                incident.id,
            )
        else:
            if existing is not None:
                run.log.info("Found the request's existing PagerDuty incident and recorded it")
            else:
                run.log.info("Successfully created PagerDuty incident")
            self._observer.emit(
                IncidentCreated(
                    request_id=request.id,
                    incident_id=incident.id,
                    service_name=service.name,
                    adopted=existing is not None,
                    route=step.route,
                )
            )

    async def _adopt_incident(self, step: policy.AdoptIncident, request_id: str, run: _Run) -> None:
        incident = await self._find_incident(step.incident_key)
        if incident is None:
            run.log.debug("No PagerDuty incident exists for the request (%s)", step.why)
            return
        service_id = incident.service.id
        await self._cas(
            request_id,
            lambda data: policy.record_incident(
                data, service_id=service_id, incident_id=incident.id
            ),
        )
        run.log = run.log.bind(pd_incident_id=incident.id)
        run.log.info("Found the request's unrecorded PagerDuty incident and recorded it")

    async def _post_review_notes(
        self, step: policy.PostReviewNotes, request_id: str, run: _Run
    ) -> None:
        claimed: range | None = None

        def claim(data: PagerDutyData | None) -> PagerDutyData | None:
            nonlocal claimed
            result = policy.claim_review_notes(data, len(step.notes))
            if result is None:
                claimed = None
                return None
            claimed = result[1]
            return result[0]

        written, current = await self._cas(request_id, claim)
        if not written or claimed is None or current is None:
            run.log.debug("No review notes to post: no incident, or every review is posted")
            return
        taken = claimed
        for index in taken:
            try:
                await self._pd.add_note(current.incident_id, step.notes[index])
            except PagerDutyError as exc:
                if await self._note_landed(request_id, current.incident_id, step.notes, index, exc):
                    continue
                await self._release(
                    request_id, _release_notes(taken, index), run, "the unposted review notes"
                )
                raise
            except asyncio.CancelledError:
                # The handler ran out of time mid-post: the claim stays; whoever resolves the
                # incident (or this process, on its next look at the request) posts it.
                self._note_missing(request_id, current.incident_id, step.notes)
                raise
        run.log.info(
            "Posted %d review note(s) to the incident",
            len(taken),
            extra={"pd_incident_id": current.incident_id},
        )
        self._observer.emit(
            NotesPosted(request_id=request_id, incident_id=current.incident_id, count=len(taken))
        )

    async def _note_landed(
        self,
        request_id: str,
        incident_id: str,
        notes: Sequence[str],
        index: int,
        error: PagerDutyError,
    ) -> bool:
        """After posting `notes[index]` failed with `error`: whether PagerDuty has it anyway.

        Only asked when PagerDuty may have carried the request out. When the incident's notes
        cannot be read either, `error` is raised and the note stays claimed (handing it back
        could post it twice); it is checked again after `repair_after`.
        """
        if not error.maybe_processed:
            return False
        try:
            present = await self._pd.list_notes(incident_id)
        except PagerDutyError:
            self._note_missing(request_id, incident_id, notes)
            raise error from None
        return not policy.missing_notes([notes[index]], [note.content for note in present])

    def _note_missing(self, request_id: str, incident_id: str, notes: Sequence[str]) -> bool:
        """Remember to check, after `repair_after`, that the claimed ones of `notes` (the note
        of each review, in order) are on the incident. False when that was known already."""
        wait = self._missing_notes.sight(
            request_id, policy.MissingNotes(incident_id, tuple(notes)), self._clock()
        )
        return wait.new

    async def _release(
        self,
        request_id: str,
        transition: Callable[[PagerDutyData | None], PagerDutyData | None],
        run: _Run,
        what: str,
    ) -> None:
        try:
            await self._cas(request_id, transition)
        except TeleportError as exc:
            # The claim stays; the resolution repair (or nobody, for notes) picks it up.
            run.log.error("Failed to release %s: %s", what, exc)

    async def _resolve(self, step: policy.ResolveIncident, request_id: str, run: _Run) -> None:
        written, current = await self._cas(
            request_id, lambda data: policy.claim_resolution(data, step.tag, step.reason)
        )
        if not written or current is None:
            if current is not None and current.is_resolved and current.has_incident:
                # Another run claimed it first; should that run die, this one finishes it.
                run.log.debug("Another run claimed the resolution (%s)", current.resolution.value)
                await self._verify_resolution(request_id, current, run)
            else:
                run.log.debug("Skipping the resolution: the request has no incident recorded")
            return
        run.log = run.log.bind(pd_incident_id=current.incident_id)
        try:
            await self._finish_resolution(request_id, current, step.note, run)
        except PagerDutyError:
            await self._release(
                request_id,
                lambda data: policy.release_resolution(data, step.tag, step.reason),
                run,
                "the resolution claim",
            )
            raise
        run.log.info("Successfully resolved the incident (%s)", step.tag.value)
        self._observer.emit(
            IncidentResolved(
                request_id=request_id, incident_id=current.incident_id, resolution=step.tag.value
            )
        )

    async def _finish_resolution(
        self, request_id: str, data: PagerDutyData, note: str, run: _Run
    ) -> None:
        """Post `note` unless the incident has it already, then resolve the incident; then
        check the claimed review notes against the notes read."""
        incident_id = data.incident_id
        notes = await self._pd.list_notes(incident_id)
        if any(policy.same_note(existing.content, note) for existing in notes):
            run.log.info("The incident already has the resolution note; not posting it again")
        else:
            await self._pd.add_note(incident_id, note)
        await self._pd.resolve_incident(incident_id)
        self._remember_resolved(incident_id)
        await self._audit_notes(request_id, data, [n.content for n in notes], run)

    async def _audit_notes(
        self, request_id: str, data: PagerDutyData, present: Sequence[str], run: _Run
    ) -> None:
        """Compare the claimed review notes with `present` (the incident's notes); remember
        missing ones and post them after `repair_after` (see the module docstring)."""
        if run.request is None or data.reviews_count == 0:
            return
        notes = tuple(policy.review_note(review) for review in run.request.reviews)
        missing = policy.missing_notes(notes[: data.reviews_count], present)
        if not missing:
            return
        if self._note_missing(request_id, data.incident_id, notes):
            run.log.info(
                "%d claimed review note(s) are not on the incident; posting them in %g s "
                "unless their poster does first",
                len(missing),
                self.repair_after,
            )
        await self._recheck_missing_notes(request_id, run)

    async def _recheck_missing_notes(self, request_id: str, run: _Run) -> None:
        """Post the remembered claimed notes still missing, once `repair_after` has passed."""
        entry = self._missing_notes.get(request_id)
        wait = self._missing_notes.wait(request_id, self._clock())
        if entry is None or wait is None:
            return
        if not wait.due:
            run.recheck(wait.remaining)
            return
        try:
            data = await self._read(request_id)
            # Only what is still claimed: a note handed back since is its poster's again.
            claimed = entry.notes[: data.reviews_count if data is not None else 0]
            listed = await self._pd.list_notes(entry.incident_id)
            missing = policy.missing_notes(claimed, [note.content for note in listed])
            if missing:
                run.log.warning(
                    "Posting %d claimed review note(s) that never reached the incident",
                    len(missing),
                    extra={"pd_incident_id": entry.incident_id},
                )
            for note in missing:
                await self._pd.add_note(entry.incident_id, note)
        except _STEP_ERRORS as exc:
            run.fail("to post the claimed but missing review notes", exc)
            return
        self._missing_notes.done(request_id)
        if missing:
            self._observer.emit(
                NotesPosted(
                    request_id=request_id, incident_id=entry.incident_id, count=len(missing)
                )
            )

    def _remember_resolved(self, incident_id: str) -> None:
        self._verified.add(incident_id)

    async def _verify_resolution(self, request_id: str, data: PagerDutyData, run: _Run) -> None:
        """The record says resolved: make sure PagerDuty agrees (see the module docstring)."""
        incident_id = data.incident_id
        if incident_id in self._verified:
            return
        try:
            incident = await self._pd.get_incident(incident_id)
        except PagerDutyError as exc:
            run.fail("to check that the incident is resolved", exc)
            return
        if incident.is_resolved:
            self._unfinished_resolutions.done(request_id)
            if data.reviews_count and run.request is not None:
                # Once per incident and process (after a restart, or when another replica
                # resolved it): were the claimed review notes posted?
                try:
                    listed = await self._pd.list_notes(incident_id)
                except PagerDutyError as exc:
                    run.fail("to check the incident's review notes", exc)
                    return
                await self._audit_notes(request_id, data, [n.content for n in listed], run)
            self._remember_resolved(incident_id)
            return
        claim = (data.resolution.value, data.resolve_reason, incident_id)
        wait = self._unfinished_resolutions.sight(request_id, claim, self._clock())
        if wait.new:
            run.log.info(
                "The request's resolution (%s) is recorded but the incident is still %s; "
                "finishing it in %g s unless its resolver does first",
                data.resolution.value,
                incident.status,
                self.repair_after,
            )
        if not wait.due:
            run.recheck(wait.remaining)
            return
        run.log.warning(
            "Finishing the interrupted resolution (%s) of the incident", data.resolution.value
        )
        note = policy.resolution_note(data.resolution, data.resolve_reason)
        try:
            await self._finish_resolution(request_id, data, note, run)
        except PagerDutyError as exc:
            run.fail("to finish the interrupted resolution", exc)
            return
        self._unfinished_resolutions.done(request_id)
        run.log.info("Successfully resolved the incident (%s)", data.resolution.value)
        self._observer.emit(
            IncidentResolved(
                request_id=request_id, incident_id=incident_id, resolution=data.resolution.value
            )
        )

    @staticmethod
    def _hold_page(run: _Run) -> None:
        """page_when_approved = false, and this run's approval did not say "not approved"."""
        if run.approval is _Approval.APPROVED:
            run.log.info("Not paging: the request is approved (page_when_approved = false)")
        elif run.approval is _Approval.RESOLVED:
            run.log.info(
                "Not paging: the request was resolved before this replica's review "
                "(page_when_approved = false)"
            )
        else:
            run.log.debug(
                "Not paging yet: the approval could not be decided (page_when_approved = "
                "false); the request is re-attempted"
            )

    async def _consider_approval(
        self, step: policy.ConsiderApproval, request: AccessRequest, run: _Run
    ) -> None:
        run.approval = _Approval.FAILED
        try:
            decision = await self._decide(step, request, run)
            if isinstance(decision, policy.Skip):
                level = logging.WARNING if decision.warning else logging.DEBUG
                run.log.log(level, "Skipping the approval: %s", decision.why)
                run.approval = _Approval.NOT_APPROVED
                return
            run.approval = await self._approve(decision, request, run)
        except _STEP_ERRORS:
            self._observer.emit(ApprovalOutcome(request_id=request.id, result="failed"))
            raise

    async def _decide(
        self, step: policy.ConsiderApproval, request: AccessRequest, run: _Run
    ) -> policy.Approve | policy.Skip:
        user_lookup = asyncio.ensure_future(self._lookups.user(request.user))
        service_lookups = [
            asyncio.ensure_future(self._lookups.service(name)) for name in step.service_names
        ]
        try:
            user = await user_lookup
            found = await asyncio.gather(*service_lookups)
        except BaseException:
            for task in (user_lookup, *service_lookups):
                task.cancel()
            await asyncio.gather(user_lookup, *service_lookups, return_exceptions=True)
            raise
        entries: list[OnCall] = []
        if user is not None:
            run.log = run.log.bind(pd_user_email=user.email, pd_user_name=user.name)
            policies = sorted(
                {s.escalation_policy.id for s in found if s is not None and s.escalation_policy.id}
            )
            if policies:
                entries = await self._pd.on_call(user.id, policies)
        facts = pagerduty_facts(user, found, entries)
        return policy.decide_approval(
            request,
            pd_user=facts.user,
            services=facts.services,
            on_calls=facts.on_calls,
            settings=self.settings,
            plugin_user=self.plugin_user,
        )

    async def _approve(
        self, approve: policy.Approve, request: AccessRequest, run: _Run
    ) -> _Approval:
        log = run.log.bind(pd_service_names=list(approve.service_names))
        if self._precheck:
            await self._explain_review_permission(request, log)
        try:
            after = await self._auth.submit_review(
                request.id,
                proposed_state=RequestState.APPROVED,
                reason=approve.reason,
                author=self.plugin_user,
            )
        except AlreadyReviewed:
            log.debug("Already reviewed the request")
            self._observer.emit(ApprovalOutcome(request_id=request.id, result="already_reviewed"))
            # Another run (a replica) reviewed it: resolved by that, or still waiting?
            current = await self._auth.get_access_request(request.id)
            return _Approval.NOT_APPROVED if current.state.is_pending else _Approval.RESOLVED
        except AlreadyResolved as exc:
            log.debug("The request was resolved before the approval: %s", exc)
            self._observer.emit(ApprovalOutcome(request_id=request.id, result="already_reviewed"))
            return _Approval.RESOLVED
        except AccessDenied as exc:
            log.warning(
                "Teleport refused the approval of an on-call requester: %s. Give the "
                "plugin's role review_requests for the requested roles.",
                exc,
            )
            self._observer.emit(ApprovalOutcome(request_id=request.id, result="refused"))
            return _Approval.NOT_APPROVED
        self._observer.emit(ApprovalOutcome(request_id=request.id, result="approved"))
        log.info("Successfully submitted a request approval (%s)", approve.why)
        return _Approval.NOT_APPROVED if after.state.is_pending else _Approval.APPROVED

    async def _explain_review_permission(self, request: AccessRequest, log: FieldsAdapter) -> None:
        """Log why Teleport will refuse the plugin's review, when it will (never raises)."""
        if not self._plugin_roles:
            return
        permission = await review_permission(
            request,
            plugin_user=self.plugin_user,
            plugin_roles=self._plugin_roles,
            get_role=self._lookups.role,
            get_user=self._lookups.teleport_user,
        )
        if permission.roles_error:
            if not self._precheck_unavailable_logged:
                self._precheck_unavailable_logged = True
                log.info(
                    "Cannot read the plugin's roles to pre-check its reviews (%s); Teleport "
                    "will decide alone",
                    permission.roles_error,
                )
        elif permission.where_error:
            log.warning(
                "Cannot evaluate the plugin's review_requests.where: %s", permission.where_error
            )
        elif permission.decision is not None and not permission.decision.allowed:
            log.warning("Teleport will likely refuse the approval: %s", permission.decision.reason)


def _release_notes(
    claimed: range, first_unposted: int
) -> Callable[[PagerDutyData | None], PagerDutyData | None]:
    def release(data: PagerDutyData | None) -> PagerDutyData | None:
        return policy.release_review_notes(data, claimed, first_unposted)

    return release


#: What each step is doing, for "Failed <doing>: <error>".
_DOING: dict[type[object], str] = {
    policy.EnsureIncident: "to create the PagerDuty incident",
    policy.AdoptIncident: "to look up the request's PagerDuty incident",
    policy.PostReviewNotes: "to post the review notes",
    policy.ResolveIncident: "to resolve the incident",
    policy.ConsiderApproval: "to consider the approval",
}
