"""Access Advisor: GenerateServiceLastAccessedDetails, GetServiceLastAccessedDetails(WithEntities)
and ListPoliciesGrantingServiceAccess, which moto lacks.

A report is computed when the job is created (a snapshot, as AWS does) and becomes readable
after --job-latency-ms; --fail-jobs makes that share of jobs end FAILED.
"""

from __future__ import annotations

import base64
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from moto.core.responses import ActionResult
from moto.iam.exceptions import InvalidInput, NotFoundException, ValidationError

from . import activity, catalogue, clock, faults, grants
from .settings import current as settings

ARN = re.compile(
    r"^arn:aws:iam::(?P<account>\d{12}|aws):(?P<kind>user|role|group|policy)"
    r"(?P<path>/(?:[^/]+/)*)(?P<name>[\w+=,.@-]+)$"
)
MAX_ITEMS_LIMIT = 1000
DEFAULT_MAX_ITEMS = 100
# ListPoliciesGrantingServiceAccess answers this many namespaces a page, so clients must page.
NAMESPACES_PER_PAGE = 20
MAX_NAMESPACES = 200


@dataclass
class Entity:
    """An IAM entity a report covers, as GetServiceLastAccessedDetailsWithEntities shows it."""

    arn: str
    name: str
    type: str  # USER | ROLE | GROUP | POLICY
    id: str
    path: str

    def info(self) -> dict:
        return {"Arn": self.arn, "Name": self.name, "Type": self.type, "Id": self.id,
                "Path": self.path}


@dataclass
class Job:
    id: str
    account: str
    job_type: str
    created: datetime
    completes: datetime
    failed: bool
    # The access key (session) that created the job: only it may read the job, as in AWS.
    owner: str = ""
    error_message: str = "Access Advisor could not generate the report."
    services: list[dict] = field(default_factory=list)
    entities: dict[str, list[dict]] = field(default_factory=dict)  # namespace -> details

    def status(self) -> str:
        if clock.naive_now() < self.completes:
            return "IN_PROGRESS"
        return "FAILED" if self.failed else "COMPLETED"

    def header(self) -> dict:
        """The job fields every Get* answer carries."""
        status = self.status()
        out = {"JobStatus": status, "JobType": self.job_type, "JobCreationDate": self.created}
        if status != "IN_PROGRESS":
            out["JobCompletionDate"] = self.completes
        if status == "FAILED":
            out["Error"] = {"Message": self.error_message, "Code": "ServiceFailure"}
        return out


_JOBS: dict[str, Job] = {}
_LOCK = threading.Lock()
# Entities whose jobs always fail, from the scenario's `job_error`: ARN -> message. Lets a test
# pick exactly which entity fails, where --fail-jobs picks at random.
FORCED_FAILURES: dict[str, str] = {}


# ---------------------------------------------------------------- entities and policies


def _entity(obj, kind: str) -> Entity:
    return Entity(obj.arn, obj.name, kind, obj.id, obj.path)


def resolve(backend, arn: str, kinds=("user", "role", "group", "policy")):
    """(kind, moto object) for an ARN. Malformed -> InvalidInput; missing -> NoSuchEntity."""
    m = ARN.match(arn or "")
    if not m or m["kind"] not in kinds:
        raise InvalidInput(f"ARN {arn} is not valid.")
    kind, name = m["kind"], m["name"]
    obj = None
    if m["account"] in (backend.account_id, "aws"):
        if kind == "user":
            obj = backend.users.get(name)
        elif kind == "group":
            obj = backend.groups.get(name)
        elif kind == "role":
            try:
                obj = backend.get_role(name)
            except NotFoundException:
                obj = None
        else:
            obj = backend.managed_policies.get(arn)
    if obj is None or obj.arn != arn:
        raise NotFoundException(f"The entity {arn} does not exist.")
    return kind, obj


def _subject(backend, kind: str, obj) -> tuple[list[grants.PolicySource], list[Entity]]:
    """The policies a report lists services from, and the entities whose use counts."""
    if kind == "user":
        return grants.user_policies(backend, obj), [_entity(obj, "USER")]
    if kind == "role":
        return grants.role_policies(obj), [_entity(obj, "ROLE")]
    if kind == "group":
        return grants.group_policies(obj), [_entity(u, "USER") for u in obj.users]
    # A managed policy: the users and roles it is attached to, directly or through a group.
    source = grants.PolicySource(obj.name, "MANAGED", grants.default_document(obj), arn=obj.arn)
    users = {u.arn: u for u in backend.users.values() if obj.arn in u.managed_policies}
    for group in backend.groups.values():
        if obj.arn in group.managed_policies:
            users.update({u.arn: u for u in group.users})
    entities = [_entity(u, "USER") for u in users.values()]
    entities += [_entity(r, "ROLE") for r in backend.roles.values()
                 if obj.arn in r.managed_policies]
    return [source], entities


# ---------------------------------------------------------------- reports


def _report(sources, entities: list[Entity], action_level: bool):
    granted = grants.grant_of(sources)
    cutoff = activity.cutoff()
    services, details = [], {}
    for ns in sorted(granted):
        used = []
        rows = []
        for e in entities:
            use = activity.of(e.arn).get(ns)
            recent = use if use is not None and use.time >= cutoff else None
            row = {"EntityInfo": e.info()}
            if recent:
                used.append((e, recent))
                row["LastAuthenticated"] = recent.time
            rows.append(row)
        details[ns] = rows
        entry = {"ServiceName": catalogue.service_name(ns), "ServiceNamespace": ns,
                 "TotalAuthenticatedEntities": len(used)}
        if used:
            who, last = max(used, key=lambda pair: pair[1].time)
            entry.update(LastAuthenticated=last.time, LastAuthenticatedEntity=who.arn,
                         LastAuthenticatedRegion=last.region)
        tracked = catalogue.tracked_actions(ns)
        if action_level and tracked is not None:
            actions = [a for a in tracked if granted[ns] is grants.ALL or a in granted[ns]]
            if actions:
                entry["TrackedActionsLastAccessed"] = _tracked(actions, used, cutoff)
        services.append(entry)
    return services, details


def _tracked(actions: list[str], used, cutoff) -> list[dict]:
    out = []
    for name in actions:
        item = {"ActionName": name}
        best = None
        for entity, use in used:
            hit = use.actions.get(name.lower())
            if hit and hit.time >= cutoff and (best is None or hit.time > best[1].time):
                best = (entity, hit)
        if best:
            item.update(LastAccessedEntity=best[0].arn, LastAccessedTime=best[1].time,
                        LastAccessedRegion=best[1].region)
        out.append(item)
    return out


def create_job(backend, arn: str, granularity: str | None, owner: str = "") -> Job:
    granularity = granularity or "SERVICE_LEVEL"
    if granularity not in ("SERVICE_LEVEL", "ACTION_LEVEL"):
        raise ValidationError(
            f"1 validation error detected: Value '{granularity}' at 'granularity' failed to "
            "satisfy constraint: Member must satisfy enum value set: [SERVICE_LEVEL, ACTION_LEVEL]")
    kind, obj = resolve(backend, arn)
    sources, entities = _subject(backend, kind, obj)
    services, details = _report(sources, entities, granularity == "ACTION_LEVEL")
    created = clock.stamp()
    job = Job(
        id=str(uuid.UUID(int=faults.rng_bits(128), version=4)),
        account=backend.account_id,
        job_type=granularity,
        created=created,
        completes=created + timedelta(milliseconds=settings.job_latency_ms),
        failed=arn in FORCED_FAILURES or faults.chance(settings.fail_jobs_percent),
        owner=owner,
        services=services,
        entities=details,
    )
    if arn in FORCED_FAILURES:
        job.error_message = FORCED_FAILURES[arn]
    with _LOCK:
        _JOBS[job.id] = job
    return job


def _job(account: str, job_id: str, reader: str = "") -> Job:
    """The job, if `reader` (an access key) may read it. A job is read by the principal that
    created it, with temporary credentials by the same session: for another one the job does
    not exist, as for another account."""
    job = _JOBS.get(job_id or "")
    if job is None or job.account != account or job.owner != reader:
        raise NotFoundException(f"The job with ID {job_id} cannot be found.")
    return job


# ---------------------------------------------------------------- paging


def max_items(value) -> int:
    if value is None:
        return DEFAULT_MAX_ITEMS
    n = int(value)
    if n < 1:
        raise ValidationError(
            f"1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1")
    if n > MAX_ITEMS_LIMIT:
        raise ValidationError(
            f"1 validation error detected: Value '{n}' at 'maxItems' failed to satisfy "
            f"constraint: Member must have value less than or equal to {MAX_ITEMS_LIMIT}")
    return n


def encode_marker(offset: int) -> str:
    return base64.urlsafe_b64encode(f"iamsim:{offset}".encode()).decode()


def decode_marker(marker: str | None) -> int:
    if not marker:
        return 0
    try:
        prefix, offset = base64.urlsafe_b64decode(marker.encode()).decode().split(":")
        assert prefix == "iamsim"
        return int(offset)
    except Exception:
        raise InvalidInput("Invalid value for Marker.") from None


def page(items: list, marker: str | None, limit: int) -> tuple[list, dict]:
    start = decode_marker(marker)
    chunk = items[start:start + limit]
    if start + limit < len(items):
        return chunk, {"IsTruncated": True, "Marker": encode_marker(start + limit)}
    return chunk, {"IsTruncated": False}


# ---------------------------------------------------------------- IAM actions


def generate_service_last_accessed_details(self) -> ActionResult:
    job = create_job(self.backend, self._get_param("Arn"), self._get_param("Granularity"),
                     owner=self.get_access_key())
    return ActionResult({"JobId": job.id})


def page_limit(value) -> int:
    """MaxItems, capped by --page-size: AWS may return fewer items than asked, with a Marker."""
    limit = max_items(value)
    return min(limit, settings.page_size) if settings.page_size else limit


def get_service_last_accessed_details(self) -> ActionResult:
    job = _job(self.current_account, self._get_param("JobId"), self.get_access_key())
    limit = page_limit(self._get_param("MaxItems"))
    result = job.header()
    if result["JobStatus"] == "COMPLETED":
        chunk, paging = page(job.services, self._get_param("Marker"), limit)
    else:
        chunk, paging = [], {"IsTruncated": False}
    result.update(ServicesLastAccessed=chunk, **paging)
    return ActionResult(result)


def get_service_last_accessed_details_with_entities(self) -> ActionResult:
    job = _job(self.current_account, self._get_param("JobId"), self.get_access_key())
    namespace = (self._get_param("ServiceNamespace") or "").lower()
    if namespace not in catalogue.services():
        raise InvalidInput(f"The service namespace {namespace} is not valid.")
    limit = page_limit(self._get_param("MaxItems"))
    result = job.header()
    if result["JobStatus"] == "COMPLETED":
        rows = job.entities.get(namespace, [])
        chunk, paging = page(rows, self._get_param("Marker"), limit)
    else:
        chunk, paging = [], {"IsTruncated": False}
    result.update(EntityDetailsList=chunk, **paging)
    return ActionResult(result)


def list_policies_granting_service_access(self) -> ActionResult:
    namespaces = self._get_param("ServiceNamespaces") or []
    if not 1 <= len(namespaces) <= MAX_NAMESPACES:
        bound = ("greater than or equal to 1" if not namespaces
                 else f"less than or equal to {MAX_NAMESPACES}")
        raise ValidationError(
            f"1 validation error detected: Value '{namespaces}' at 'serviceNamespaces' "
            f"failed to satisfy constraint: Member must have length {bound}")
    kind, obj = resolve(self.backend, self._get_param("Arn"), kinds=("user", "role", "group"))
    sources, _ = _subject(self.backend, kind, obj)
    chunk, paging = page(namespaces, self._get_param("Marker"), NAMESPACES_PER_PAGE)
    answer = []
    for ns in chunk:
        policies = []
        for s in sources:
            if ns.lower() in grants.document_grant(s.document):
                p = {"PolicyName": s.name, "PolicyType": s.type}
                if s.type == "MANAGED":
                    p["PolicyArn"] = s.arn
                else:
                    p.update(EntityType=s.entity_type, EntityName=s.entity_name)
                policies.append(p)
        answer.append({"ServiceNamespace": ns, "Policies": policies})
    return ActionResult({"PoliciesGrantingServiceAccess": answer, **paging})


ACTIONS = [
    generate_service_last_accessed_details,
    get_service_last_accessed_details,
    get_service_last_accessed_details_with_entities,
    list_policies_granting_service_access,
]


def install() -> None:
    from moto.iam.responses import IamResponse

    for fn in ACTIONS:
        setattr(IamResponse, fn.__name__, fn)
