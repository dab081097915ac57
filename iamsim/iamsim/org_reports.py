"""Organizations access reports: iam:GenerateOrganizationsAccessReport and
iam:GetOrganizationsAccessReport, which moto lacks, and the SCP limits moto does not enforce.

A report covers the root, an OU or an account, named by its entity path
`o-ORG/r-ROOT[/ou-...]*[/ACCOUNT]`, and lists the services the SCPs in force there allow (or, with
`OrganizationsPolicyId`, the services that one policy allows). A service is accessed when any
principal of any account below the entity used it within the 400-day tracking period; an
account's use is the latest use per service of every entity of that account (scenario `activity`,
`accounts.ID` preloads and `POST /_iamsim/activity`) plus its `organization.accounts[].activity`.
The report is computed when the job is created, readable after --job-latency-ms; --fail-jobs and
a scenario `report_error` (on an OU or an account entry) make jobs end FAILED.

Only the management account may call either action, as in AWS.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from moto.core.responses import ActionResult
from moto.iam.exceptions import InvalidInput, NotFoundException, ValidationError

from . import activity, advisor, catalogue, clock, faults
from .settings import current as settings

ENTITY_PATH = re.compile(
    r"^(?P<org>o-[a-z0-9]{10,32})/(?P<root>r-[0-9a-z]{4,32})"
    r"(?P<ous>(?:/ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})*)(?:/(?P<account>\d{12}))?$")
SORT_KEYS = ("SERVICE_NAMESPACE_ASCENDING", "SERVICE_NAMESPACE_DESCENDING",
             "LAST_AUTHENTICATED_TIME_ASCENDING", "LAST_AUTHENTICATED_TIME_DESCENDING")
# Organizations limits (AWS Organizations User Guide, "Quotas"): SCPs a target may have attached,
# and the characters of one SCP document.
MAX_SCPS_PER_TARGET = 5
MAX_SCP_CHARACTERS = 5120

# Extra per-account use from `organization.accounts[].activity`: account id -> namespace -> use.
ACCOUNT_ACTIVITY: dict[str, dict[str, activity.ServiceUse]] = {}
# Forced failures from a scenario `report_error`: OU id or account id -> message.
FORCED_FAILURES: dict[str, str] = {}


@dataclass
class ReportJob:
    id: str
    account: str
    owner: str
    created: datetime
    completes: datetime
    failed: bool
    error_message: str = "The report could not be generated."
    details: list[dict] = field(default_factory=list)

    def status(self) -> str:
        if clock.naive_now() < self.completes:
            return "IN_PROGRESS"
        return "FAILED" if self.failed else "COMPLETED"


_JOBS: dict[str, ReportJob] = {}
_LOCK = threading.Lock()


# ---------------------------------------------------------------- the organization


def _backend(account_id: str):
    """The Organizations backend of the organization whose management account this is."""
    from moto.organizations.models import organizations_backends

    backend = organizations_backends[account_id]["aws"]
    if backend.org is None or backend.org.master_account_id != account_id:
        raise InvalidInput("This operation can be performed only from the organization's "
                           "management account.")
    return backend


def _parents(backend) -> dict[str, str]:
    return {ou.id: ou.parent_id for ou in backend.ou}


def _resolve(backend, entity_path: str) -> tuple[list[str], str | None]:
    """The chain of targets [root, ou, ...] and the account of a valid entity path."""
    m = ENTITY_PATH.match(entity_path or "")
    if not m or m["org"] != backend.org.id or m["root"] != backend.org.root_id:
        raise InvalidInput(f"The entity path {entity_path} is not valid.")
    chain = [m["root"]] + [part for part in m["ous"].split("/") if part]
    parents = _parents(backend)
    for parent, child in zip(chain, chain[1:]):
        if parents.get(child) != parent:
            raise InvalidInput(f"The entity path {entity_path} is not valid.")
    account = m["account"]
    if account is not None:
        found = next((a for a in backend.accounts if a.id == account), None)
        parent = getattr(found, "parent_id", None) or backend.org.root_id
        if found is None or parent != chain[-1]:
            raise InvalidInput(f"The entity path {entity_path} is not valid.")
    return chain, account


def _accounts_below(backend, target: str) -> list[str]:
    """Account ids at or below an OU or the root."""
    children: dict[str, list[str]] = {}
    for ou in backend.ou:
        if ou.parent_id:
            children.setdefault(ou.parent_id, []).append(ou.id)
    below, stack = {target}, [target]
    while stack:
        for child in children.get(stack.pop(), []):
            below.add(child)
            stack.append(child)
    root = backend.org.root_id
    return sorted(a.id for a in backend.accounts
                  if (getattr(a, "parent_id", None) or root) in below)


def path_of(backend, account_id: str) -> str:
    """The entity path of an account."""
    parents = _parents(backend)
    account = next(a for a in backend.accounts if a.id == account_id)
    node = getattr(account, "parent_id", None) or backend.org.root_id
    chain = []
    while node and node != backend.org.root_id:
        chain.append(node)
        node = parents.get(node)
    return "/".join([backend.org.id, backend.org.root_id, *reversed(chain), account_id])


# ---------------------------------------------------------------- SCPs in force


def _statements(content: str) -> list[dict]:
    try:
        doc = json.loads(content)
    except ValueError:
        return []
    statements = doc.get("Statement", [])
    return [statements] if isinstance(statements, dict) else list(statements)


def _patterns(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _touches(pattern: str, namespace: str) -> bool:
    """Whether an action pattern matches any action of the namespace."""
    if pattern == "*":
        return True
    service, _, _ = pattern.partition(":")
    return fnmatch.fnmatchcase(namespace, service.lower())


def _covers(pattern: str, namespace: str) -> bool:
    """Whether an action pattern matches every action of the namespace."""
    if pattern == "*":
        return True
    service, _, action = pattern.partition(":")
    return action == "*" and fnmatch.fnmatchcase(namespace, service.lower())


def _allows(content: str, namespace: str) -> bool:
    """Some Allow statement of the SCP reaches an action of the service."""
    for st in _statements(content):
        if st.get("Effect") != "Allow":
            continue
        if "Action" in st and any(_touches(p, namespace) for p in _patterns(st["Action"])):
            return True
        if "NotAction" in st and not any(_covers(p, namespace) for p in _patterns(st["NotAction"])):
            return True
    return False


def _denies(content: str, namespace: str) -> bool:
    """An unconditional Deny statement of the SCP covers every action of the service."""
    for st in _statements(content):
        if st.get("Effect") != "Deny" or st.get("Condition"):
            continue
        if "Action" in st and any(_covers(p, namespace) for p in _patterns(st["Action"])):
            return True
        if "NotAction" in st and not any(_touches(p, namespace)
                                         for p in _patterns(st["NotAction"])):
            return True
    return False


def level_allows(contents: list[str], namespace: str) -> bool:
    """The service stays accessible at one level (the root, an OU, an account): some attached
    SCP allows it and none denies all of it."""
    return (any(_allows(c, namespace) for c in contents)
            and not any(_denies(c, namespace) for c in contents))


def _scps(target) -> list:
    return [p for p in target.attached_policies if p.type == "SERVICE_CONTROL_POLICY"]


def _scps_enabled(backend) -> bool:
    root = next(ou for ou in backend.ou if ou.id == backend.org.root_id)
    return any(t["Type"] == "SERVICE_CONTROL_POLICY" for t in root.policy_types)


def accessible(backend, chain: list[str], account: str | None, policy_id: str | None,
               namespaces) -> list[str]:
    """The namespaces the SCPs in force at the entity allow (or that one policy allows)."""
    if policy_id:
        policy = backend.get_policy_by_id(policy_id)
        return [ns for ns in namespaces if level_allows([policy.content], ns)]
    if not _scps_enabled(backend) or account == backend.org.master_account_id:
        return list(namespaces)  # SCPs never restrict the management account
    targets = [next(ou for ou in backend.ou if ou.id == target) for target in chain]
    if account is not None:
        targets.append(next(a for a in backend.accounts if a.id == account))
    levels = [[p.content for p in _scps(t)] for t in targets]
    return [ns for ns in namespaces
            if all(level_allows(level, ns) for level in levels)]


# ---------------------------------------------------------------- usage


def account_use(account_id: str) -> dict[str, activity.ServiceUse]:
    """Latest use per service of every entity of the account, and the account's own activity."""
    out: dict[str, activity.ServiceUse] = {}

    def merge(ns: str, use: activity.ServiceUse) -> None:
        if ns not in out or use.time > out[ns].time:
            out[ns] = use

    for arn, uses in activity.items():
        parts = arn.split(":")
        if len(parts) > 4 and parts[4] == account_id:
            for ns, use in uses.items():
                merge(ns, use)
    for ns, use in ACCOUNT_ACTIVITY.get(account_id, {}).items():
        merge(ns, use)
    return out


def _details(backend, chain, account, policy_id) -> list[dict]:
    accounts = [account] if account else _accounts_below(backend, chain[-1])
    cutoff = activity.cutoff()
    uses = {a: {ns: u for ns, u in account_use(a).items() if u.time >= cutoff}
            for a in accounts}
    details = []
    for ns in accessible(backend, chain, account, policy_id, sorted(catalogue.services())):
        entry = {"ServiceName": catalogue.service_name(ns), "ServiceNamespace": ns}
        users = [(a, u[ns]) for a, u in uses.items() if ns in u]
        if users:
            who, last = max(users, key=lambda pair: (pair[1].time, pair[0]))
            entry.update(Region=last.region, EntityPath=path_of(backend, who),
                         LastAuthenticatedTime=last.time,
                         TotalAuthenticatedEntities=len(users))
        details.append(entry)
    return details


# ---------------------------------------------------------------- IAM actions


def generate_organizations_access_report(self) -> ActionResult:
    backend = _backend(self.current_account)
    entity_path = self._get_param("EntityPath")
    chain, account = _resolve(backend, entity_path)
    policy_id = self._get_param("OrganizationsPolicyId")
    details = _details(backend, chain, account, policy_id)
    created = clock.stamp()
    forced = FORCED_FAILURES.get(account or chain[-1])
    job = ReportJob(
        id=str(uuid.UUID(int=faults.rng_bits(128), version=4)),
        account=self.current_account, owner=self.get_access_key(), created=created,
        completes=created + timedelta(milliseconds=settings.job_latency_ms),
        failed=forced is not None or faults.chance(settings.fail_jobs_percent),
        details=details)
    if forced is not None:
        job.error_message = forced
    with _LOCK:
        _JOBS[job.id] = job
    return ActionResult({"JobId": job.id})


def _sorted(details: list[dict], key: str | None) -> list[dict]:
    key = key or "SERVICE_NAMESPACE_ASCENDING"
    if key not in SORT_KEYS:
        raise ValidationError(
            f"1 validation error detected: Value '{key}' at 'sortKey' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(SORT_KEYS)}]")
    if key.startswith("SERVICE_NAMESPACE"):
        out = sorted(details, key=lambda d: d["ServiceNamespace"])
    else:  # never-used services last in either direction, as "no time" sorts apart
        used = sorted((d for d in details if "LastAuthenticatedTime" in d),
                      key=lambda d: (d["LastAuthenticatedTime"], d["ServiceNamespace"]))
        out = used + [d for d in details if "LastAuthenticatedTime" not in d]
        if key.endswith("DESCENDING"):
            out = list(reversed(used)) + out[len(used):]
        return out
    return out if key.endswith("ASCENDING") else list(reversed(out))


def get_organizations_access_report(self) -> ActionResult:
    job = _JOBS.get(self._get_param("JobId") or "")
    if job is None or job.account != self.current_account or job.owner != self.get_access_key():
        raise NotFoundException(f"The job with ID {self._get_param('JobId')} cannot be found.")
    limit = advisor.page_limit(self._get_param("MaxItems"))
    details = _sorted(job.details, self._get_param("SortKey"))
    status = job.status()
    result = {"JobStatus": status, "JobCreationDate": job.created}
    if status != "IN_PROGRESS":
        result["JobCompletionDate"] = job.completes
    if status == "COMPLETED":
        chunk, paging = advisor.page(details, self._get_param("Marker"), limit)
        result.update(
            NumberOfServicesAccessible=len(details),
            NumberOfServicesNotAccessed=sum(1 for d in details
                                            if "LastAuthenticatedTime" not in d),
            AccessDetails=chunk, **paging)
    else:
        result["IsTruncated"] = False
        if status == "FAILED":
            result["ErrorDetails"] = {"Message": job.error_message, "Code": "ServiceFailure"}
    return ActionResult(result)


# ---------------------------------------------------------------- SCP limits


def _constraint(reason: str):
    from moto.organizations.exceptions import ConstraintViolationException

    message = ("You have attached the maximum number of policies to the specified target."
               if reason == "POLICY_NUMBER_LIMIT_EXCEEDED"
               else "The provided policy document exceeds the maximum size.")
    error = ConstraintViolationException(message)
    error.Reason = reason  # a modeled member of the error: moto serializes it beside message
    return error


def _install_limits() -> None:
    from moto.organizations.models import OrganizationsBackend

    attach, create, update = (OrganizationsBackend.attach_policy,
                              OrganizationsBackend.create_policy,
                              OrganizationsBackend.update_policy)

    def attach_policy(self, **kwargs):
        policy = self.get_policy_by_id(kwargs["PolicyId"])
        target_id = kwargs["TargetId"]
        target = next((t for t in [*self.ou, *self.accounts] if t.id == target_id), None)
        if (target is not None and policy.type == "SERVICE_CONTROL_POLICY"
                and policy not in target.attached_policies
                and len(_scps(target)) >= MAX_SCPS_PER_TARGET):
            raise _constraint("POLICY_NUMBER_LIMIT_EXCEEDED")
        return attach(self, **kwargs)

    def create_policy(self, **kwargs):
        if (kwargs.get("Type") == "SERVICE_CONTROL_POLICY"
                and len(kwargs.get("Content") or "") > MAX_SCP_CHARACTERS):
            raise _constraint("POLICY_CONTENT_LIMIT_EXCEEDED")
        return create(self, **kwargs)

    def update_policy(self, **kwargs):
        content = kwargs.get("Content")
        if content is not None and len(content) > MAX_SCP_CHARACTERS:
            policy = self.get_policy_by_id(kwargs["PolicyId"])
            if policy.type == "SERVICE_CONTROL_POLICY":
                raise _constraint("POLICY_CONTENT_LIMIT_EXCEEDED")
        return update(self, **kwargs)

    OrganizationsBackend.attach_policy = attach_policy
    OrganizationsBackend.create_policy = create_policy
    OrganizationsBackend.update_policy = update_policy


def install() -> None:
    from moto.iam.responses import IamResponse

    IamResponse.generate_organizations_access_report = generate_organizations_access_report
    IamResponse.get_organizations_access_report = get_organizations_access_report
    _install_limits()
