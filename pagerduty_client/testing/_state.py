"""The fake PagerDuty's data: users, schedules, escalation policies, services, on-call entries,
incidents and notes, how PagerDuty renders them as JSON, and the queries the API answers.

Pure and single-threaded: `pagerduty_client.testing._app` holds the lock and speaks HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs

__all__ = ["FakeState", "format_ts"]

JSON = dict[str, Any]


def format_ts(value: datetime) -> str:
    """PagerDuty's timestamp format: ISO 8601, UTC, whole seconds (`2024-05-01T12:00:00Z`)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@attrs.define
class UserRecord:
    id: str
    name: str
    email: str
    role: str = "user"
    time_zone: str = "Etc/UTC"
    job_title: str | None = None


@attrs.define
class ScheduleRecord:
    id: str
    name: str


@attrs.define
class RuleRecord:
    id: str
    escalation_delay_in_minutes: int
    #: ("user" | "schedule", id) pairs.
    targets: list[tuple[str, str]]


@attrs.define
class PolicyRecord:
    id: str
    name: str
    rules: list[RuleRecord]
    num_loops: int = 0
    description: str | None = None


@attrs.define
class ServiceRecord:
    id: str
    name: str
    policy_id: str
    created_at: datetime
    description: str | None = None


@attrs.define
class OnCallRecord:
    user_id: str
    policy_id: str
    level: int
    schedule_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def overlaps(self, since: datetime, until: datetime) -> bool:
        starts_in_time = self.start is None or self.start <= until
        ends_in_time = self.end is None or self.end > since
        return starts_in_time and ends_in_time


@attrs.define
class IncidentRecord:
    id: str
    number: int
    title: str
    status: str
    key: str
    service_id: str
    policy_id: str
    urgency: str
    details: Any
    created_at: datetime
    updated_at: datetime
    last_status_change_at: datetime
    last_status_change_by: str | None
    assigned_via: str = "escalation_policy"
    #: (user id, assigned at) pairs; emptied when resolved, as PagerDuty does.
    assignments: list[tuple[str, datetime]] = attrs.field(factory=list)
    resolved_at: datetime | None = None
    resolution: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in ("triggered", "acknowledged")


@attrs.define
class NoteRecord:
    id: str
    incident_id: str
    user_id: str
    content: str
    created_at: datetime


class FakeState:
    """Everything the fake PagerDuty account holds."""

    def __init__(self, *, now: Callable[[], datetime], api_url: str, subdomain: str) -> None:
        self.now = now
        self.api_url = api_url.rstrip("/")
        self.html_url = f"https://{subdomain}.pagerduty.com"
        self.users: dict[str, UserRecord] = {}
        self.schedules: dict[str, ScheduleRecord] = {}
        self.policies: dict[str, PolicyRecord] = {}
        self.services: dict[str, ServiceRecord] = {}
        self.oncalls: list[OnCallRecord] = []
        self.incidents: dict[str, IncidentRecord] = {}
        self.notes: dict[str, list[NoteRecord]] = {}
        self.abilities: list[str] = [
            "teams",
            "read_only_users",
            "service_support_hours",
            "urgencies",
        ]
        self._counters: dict[str, int] = {}

    def new_id(self, kind: str) -> str:
        """PagerDuty-looking IDs (`P` + 6 upper-case characters), deterministic per kind."""
        self._counters[kind] = count = self._counters.get(kind, 0) + 1
        return f"P{kind}{count:05d}"

    # --- lookups ---------------------------------------------------------------------------------

    def user_by_email(self, email: str) -> UserRecord | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def incident(self, id_or_number: str) -> IncidentRecord | None:
        """By ID, or by incident number as `GET /incidents/{id}` also accepts."""
        found = self.incidents.get(id_or_number)
        if found is None and id_or_number.isdigit():
            found = next(
                (i for i in self.incidents.values() if i.number == int(id_or_number)), None
            )
        return found

    def oncall_entries(self) -> list[OnCallRecord]:
        """Seeded entries, plus the permanent ones PagerDuty derives from rules that target a
        user directly (no schedule, no start, no end)."""
        derived = [
            OnCallRecord(user_id=target_id, policy_id=policy.id, level=level)
            for policy in self.policies.values()
            for level, rule in enumerate(policy.rules, start=1)
            for kind, target_id in rule.targets
            if kind == "user"
        ]
        return derived + self.oncalls

    def users_matching(self, query: str | None) -> list[UserRecord]:
        """PagerDuty's fuzzy `query`: a case-insensitive substring of the name or the email."""
        users = sorted(self.users.values(), key=lambda u: (u.name.lower(), u.id))
        if not query:
            return users
        q = query.lower()
        return [u for u in users if q in u.name.lower() or q in u.email.lower()]

    def services_matching(self, query: str | None, name: str | None) -> list[ServiceRecord]:
        services = sorted(self.services.values(), key=lambda s: (s.name.lower(), s.id))
        if query:
            services = [s for s in services if query.lower() in s.name.lower()]
        if name is not None:
            services = [s for s in services if s.name.lower() == name.lower()]
        return services

    def oncalls_matching(
        self,
        *,
        user_ids: Sequence[str],
        policy_ids: Sequence[str],
        schedule_ids: Sequence[str],
        since: datetime,
        until: datetime,
        earliest: bool,
    ) -> list[OnCallRecord]:
        def wanted(entry: OnCallRecord) -> bool:
            if user_ids and entry.user_id not in user_ids:
                return False
            if policy_ids and entry.policy_id not in policy_ids:
                return False
            if schedule_ids:
                # "null" in schedule_ids[] asks for the permanent, direct-target entries.
                label = entry.schedule_id if entry.schedule_id is not None else "null"
                if label not in schedule_ids:
                    return False
            return entry.overlaps(since, until)

        floor = datetime.min.replace(tzinfo=since.tzinfo)
        entries = sorted(
            (e for e in self.oncall_entries() if wanted(e)),
            key=lambda e: (e.policy_id, e.level, e.user_id, e.start or floor),
        )
        if earliest:
            seen: set[tuple[str, int, str]] = set()
            first: list[OnCallRecord] = []
            for entry in entries:
                if (entry.policy_id, entry.level, entry.user_id) not in seen:
                    seen.add((entry.policy_id, entry.level, entry.user_id))
                    first.append(entry)
            entries = first
        return entries

    def incidents_matching(
        self,
        *,
        incident_key: str | None,
        statuses: Sequence[str],
        service_ids: Sequence[str],
        user_ids: Sequence[str],
        urgencies: Sequence[str],
        since: datetime | None,
        until: datetime | None,
    ) -> list[IncidentRecord]:
        result = []
        for incident in sorted(self.incidents.values(), key=lambda i: i.number):
            if incident_key is not None and incident.key != incident_key:
                continue
            if statuses and incident.status not in statuses:
                continue
            if service_ids and incident.service_id not in service_ids:
                continue
            if urgencies and incident.urgency not in urgencies:
                continue
            if user_ids and not any(uid in user_ids for uid, _ in incident.assignments):
                continue
            if since is not None and incident.created_at < since:
                continue
            if until is not None and incident.created_at >= until:
                continue
            result.append(incident)
        return result

    # --- changes ---------------------------------------------------------------------------------

    def assignees_for(self, policy_id: str, at: datetime) -> list[str]:
        """Who a new incident on this policy is assigned to: everyone on call at level 1 now."""
        users: list[str] = []
        for entry in self.oncall_entries():
            on_call_now = entry.level == 1 and entry.overlaps(at, at)
            if entry.policy_id == policy_id and on_call_now and entry.user_id not in users:
                users.append(entry.user_id)
        return users

    def create_incident(
        self,
        *,
        service: ServiceRecord,
        title: str,
        key: str | None,
        urgency: str,
        details: Any,
        creator_id: str | None,
        policy_id: str | None = None,
        assignee_ids: Iterable[str] | None = None,
        status: str = "triggered",
        created_at: datetime | None = None,
    ) -> IncidentRecord:
        at = created_at or self.now()
        policy = policy_id or service.policy_id
        assigned_via = "escalation_policy"
        if assignee_ids is not None:
            assignees = list(assignee_ids)
            assigned_via = "direct_assignment"
        else:
            assignees = self.assignees_for(policy, at)
        incident = IncidentRecord(
            id=self.new_id("I"),
            number=len(self.incidents) + 1,
            title=title,
            status=status,
            key=key if key is not None else uuid.uuid4().hex,
            service_id=service.id,
            policy_id=policy,
            urgency=urgency,
            details=details,
            created_at=at,
            updated_at=at,
            last_status_change_at=at,
            last_status_change_by=creator_id,
            assigned_via=assigned_via,
            assignments=[(uid, at) for uid in assignees] if status != "resolved" else [],
            resolved_at=at if status == "resolved" else None,
        )
        self.incidents[incident.id] = incident
        self.notes[incident.id] = []
        return incident

    def set_status(
        self, incident: IncidentRecord, status: str, by: str | None, resolution: str | None = None
    ) -> None:
        at = self.now()
        if status != incident.status:
            incident.last_status_change_at = at
            incident.last_status_change_by = by
        if status == "resolved":
            incident.assignments = []
            incident.resolved_at = at
            incident.resolution = resolution
        elif incident.status == "resolved":  # reopened: assigned again as a new incident would be
            incident.resolved_at = None
            incident.assignments = [(u, at) for u in self.assignees_for(incident.policy_id, at)]
        if status == "acknowledged" and by is not None and not incident.assignments:
            incident.assignments = [(by, at)]
        incident.status = status
        incident.updated_at = at

    def add_note(self, incident: IncidentRecord, user_id: str, content: str) -> NoteRecord:
        note = NoteRecord(
            id=self.new_id("N"),
            incident_id=incident.id,
            user_id=user_id,
            content=content,
            created_at=self.now(),
        )
        self.notes.setdefault(incident.id, []).append(note)
        return note

    # --- JSON ------------------------------------------------------------------------------------

    def _ref(self, kind: str, path: str, id: str, summary: str, html: str | None = None) -> JSON:
        return {
            "id": id,
            "type": f"{kind}_reference",
            "summary": summary,
            "self": f"{self.api_url}/{path}/{id}",
            "html_url": f"{self.html_url}/{html or path}/{id}",
        }

    def user_ref(self, user_id: str) -> JSON:
        user = self.users.get(user_id)
        return self._ref("user", "users", user_id, user.name if user else user_id)

    def schedule_ref(self, schedule_id: str) -> JSON:
        schedule = self.schedules.get(schedule_id)
        return self._ref("schedule", "schedules", schedule_id, schedule.name if schedule else "")

    def policy_ref(self, policy_id: str) -> JSON:
        policy = self.policies.get(policy_id)
        name = policy.name if policy else policy_id
        return self._ref("escalation_policy", "escalation_policies", policy_id, name)

    def service_ref(self, service_id: str) -> JSON:
        service = self.services.get(service_id)
        name = service.name if service else service_id
        return self._ref("service", "services", service_id, name, "service-directory")

    def render_user(self, user: UserRecord) -> JSON:
        return {
            "id": user.id,
            "type": "user",
            "summary": user.name,
            "self": f"{self.api_url}/users/{user.id}",
            "html_url": f"{self.html_url}/users/{user.id}",
            "name": user.name,
            "email": user.email,
            "time_zone": user.time_zone,
            "color": "green",
            "role": user.role,
            "avatar_url": f"https://secure.gravatar.com/avatar/{user.id}.png?d=mm&r=PG",
            "description": None,
            "invitation_sent": False,
            "job_title": user.job_title or "",
            "teams": [],
            "contact_methods": [],
            "notification_rules": [],
        }

    def render_service(self, service: ServiceRecord) -> JSON:
        open_statuses = {
            i.status for i in self.incidents.values() if i.service_id == service.id and i.is_open
        }
        status = (
            "critical" if "triggered" in open_statuses else "warning" if open_statuses else "active"
        )
        last = max(
            (i.created_at for i in self.incidents.values() if i.service_id == service.id),
            default=None,
        )
        rendered: JSON = {
            "id": service.id,
            "type": "service",
            "summary": service.name,
            "self": f"{self.api_url}/services/{service.id}",
            "html_url": f"{self.html_url}/service-directory/{service.id}",
            "name": service.name,
            "description": service.description or "",
            "auto_resolve_timeout": 14400,
            "acknowledgement_timeout": 1800,
            "created_at": format_ts(service.created_at),
            "status": status,
            "escalation_policy": self.policy_ref(service.policy_id),
            "teams": [],
            "integrations": [],
            "incident_urgency_rule": {"type": "constant", "urgency": "high"},
            "alert_creation": "create_alerts_and_incidents",
        }
        if last is not None:
            rendered["last_incident_timestamp"] = format_ts(last)
        return rendered

    def _target_ref(self, kind: str, target_id: str) -> JSON:
        return self.user_ref(target_id) if kind == "user" else self.schedule_ref(target_id)

    def render_policy(self, policy: PolicyRecord) -> JSON:
        return {
            "id": policy.id,
            "type": "escalation_policy",
            "summary": policy.name,
            "self": f"{self.api_url}/escalation_policies/{policy.id}",
            "html_url": f"{self.html_url}/escalation_policies/{policy.id}",
            "name": policy.name,
            "description": policy.description or "",
            "num_loops": policy.num_loops,
            "on_call_handoff_notifications": "if_has_services",
            "escalation_rules": [
                {
                    "id": rule.id,
                    "escalation_delay_in_minutes": rule.escalation_delay_in_minutes,
                    "targets": [self._target_ref(kind, tid) for kind, tid in rule.targets],
                }
                for rule in policy.rules
            ],
            "services": [
                self.service_ref(s.id) for s in self.services.values() if s.policy_id == policy.id
            ],
            "teams": [],
        }

    def render_oncall(self, entry: OnCallRecord) -> JSON:
        return {
            "escalation_policy": self.policy_ref(entry.policy_id),
            "escalation_level": entry.level,
            "schedule": self.schedule_ref(entry.schedule_id) if entry.schedule_id else None,
            "user": self.user_ref(entry.user_id),
            "start": format_ts(entry.start) if entry.start else None,
            "end": format_ts(entry.end) if entry.end else None,
        }

    def render_incident(self, incident: IncidentRecord) -> JSON:
        by = incident.last_status_change_by
        return {
            "id": incident.id,
            "type": "incident",
            "summary": f"[#{incident.number}] {incident.title}",
            "self": f"{self.api_url}/incidents/{incident.id}",
            "html_url": f"{self.html_url}/incidents/{incident.id}",
            "incident_number": incident.number,
            "title": incident.title,
            "created_at": format_ts(incident.created_at),
            "updated_at": format_ts(incident.updated_at),
            "status": incident.status,
            "incident_key": incident.key,
            "service": self.service_ref(incident.service_id),
            "assignments": [
                {"at": format_ts(at), "assignee": self.user_ref(uid)}
                for uid, at in incident.assignments
            ],
            "assigned_via": incident.assigned_via,
            "last_status_change_at": format_ts(incident.last_status_change_at),
            "last_status_change_by": self.user_ref(by) if by else None,
            "resolved_at": format_ts(incident.resolved_at) if incident.resolved_at else None,
            "escalation_policy": self.policy_ref(incident.policy_id),
            "urgency": incident.urgency,
            "teams": [],
            "pending_actions": [],
            "acknowledgements": [],
            "alert_counts": {"all": 0, "triggered": 0, "resolved": 0},
            "is_mergeable": True,
            "incident_type": {"name": "incident_default"},
        }

    def render_note(self, note: NoteRecord) -> JSON:
        return {
            "id": note.id,
            "user": self.user_ref(note.user_id),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": note.content,
            "created_at": format_ts(note.created_at),
            "updated_at": format_ts(note.created_at),
        }
