"""Loads a scenario file straight into moto's backend objects (not over HTTP), so that
tens of thousands of entities load in seconds. The format is described in README.md.

moto's own create_role scans every existing role for a duplicate name, and its attach calls
rebuild a dict of every managed policy; both are quadratic for big accounts, so roles and
attachments are built directly here.
"""

from __future__ import annotations

import json
from datetime import datetime

from moto.iam.models import IAMBackend, ManagedPolicy, PolicyVersion, Role, iam_backends
from moto.iam.utils import random_role_id

from . import activity, clock

REGION = "us-east-1"


class ScenarioError(ValueError):
    pass


def trust_policy(service: str | None) -> str:
    principal = {"Service": service} if service else {"AWS": "*"}
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


def _document(doc) -> str:
    return doc if isinstance(doc, str) else json.dumps(doc)


def _created(spec: dict) -> datetime:
    """CreateDate: created_days_ago before the start, or the start (whole seconds as in AWS)."""
    return clock.days_before_start(float(spec.get("created_days_ago") or 0))


def _tags(spec: dict) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in (spec.get("tags") or {}).items()]


class Loader:
    def __init__(self, backend: IAMBackend, scenario: dict):
        self.backend = backend
        self.scenario = scenario
        self.by_name: dict[str, ManagedPolicy] = {}

    def policy(self, ref: str) -> ManagedPolicy:
        """A scenario policy name or any managed policy ARN (AWS managed ones included)."""
        policy = self.backend.managed_policies.get(ref) or self.by_name.get(ref)
        if policy is None:
            raise ScenarioError(f"unknown managed policy {ref!r}")
        return policy

    def attach(self, entity, spec: dict) -> None:
        for ref in spec.get("managed_policies") or []:
            policy = self.policy(ref)
            if policy.arn not in entity.managed_policies:
                policy.attach_to(entity)
        for name, doc in (spec.get("inline_policies") or {}).items():
            entity.policies[name] = _document(doc)

    def boundary(self, spec: dict) -> str | None:
        ref = spec.get("permissions_boundary")
        return self.policy(ref).arn if ref else None

    def load_policies(self) -> None:
        for spec in self.scenario.get("policies") or []:
            created = _created(spec)
            policy = ManagedPolicy(
                spec["name"], account_id=self.backend.account_id, region=REGION,
                description=spec.get("description", ""),
                document=_document(spec.get("document") or {"Version": "2012-10-17",
                                                             "Statement": []}),
                path=spec.get("path", "/"), create_date=created, update_date=created)
            if policy.arn in self.backend.managed_policies:
                raise ScenarioError(f"duplicate policy {spec['name']!r}")
            if spec.get("version_ids"):
                self.versions(policy, spec, created)
            self.backend.managed_policies[policy.arn] = policy
            self.by_name[spec["name"]] = policy

    def versions(self, policy: ManagedPolicy, spec: dict, created: datetime) -> None:
        """`version_ids`: the policy's versions (at most 5), all created at the same instant
        (as several versions written within one second are in AWS), the default
        `default_version` or the last one; every version holds the spec's document."""
        ids = list(spec["version_ids"])
        default = spec.get("default_version", ids[-1])
        if not 1 <= len(ids) <= 5 or default not in ids or len(set(ids)) != len(ids):
            raise ScenarioError(f"policy {spec['name']!r}: 1 to 5 distinct version_ids, "
                                "default_version among them")
        document = policy.versions[0].document
        policy.versions = [PolicyVersion(policy.arn, document, is_default=version == default,
                                         version_id=version, create_date=created)
                           for version in ids]
        policy.default_version_id = default
        policy.next_version_num = max(int(version.lstrip("v")) for version in ids) + 1

    def load_groups(self) -> None:
        for spec in self.scenario.get("groups") or []:
            group = self.backend.create_group(spec["name"], spec.get("path", "/"))
            group.create_date = _created(spec)
            self.attach(group, spec)
            self.activity(group.arn, {"job_error": spec.get("job_error")})

    def load_users(self) -> None:
        for spec in self.scenario.get("users") or []:
            user = self.backend.create_user(REGION, spec["name"], spec.get("path", "/"),
                                            _tags(spec))
            user.create_date = _created(spec)
            for group_name in spec.get("groups") or []:
                group = self.backend.groups.get(group_name)
                if group is None:
                    raise ScenarioError(f"user {spec['name']!r}: unknown group {group_name!r}")
                group.users.append(user)
            self.attach(user, spec)
            user.permissions_boundary_arn = self.boundary(spec)
            self.activity(user.arn, spec)

    def load_roles(self) -> None:
        names = {r.name for r in self.backend.roles.values()}
        for spec in self.scenario.get("roles") or []:
            if spec["name"] in names:
                raise ScenarioError(f"duplicate role {spec['name']!r}")
            names.add(spec["name"])
            path = spec.get("path", "/")
            service = spec.get("trusted_service")
            role = Role(
                account_id=self.backend.account_id, partition=self.backend.partition,
                role_id=random_role_id(self.backend.account_id), name=spec["name"],
                assume_role_policy_document=trust_policy(service), path=path,
                permissions_boundary=self.boundary(spec), description=spec.get("description", ""),
                tags=_tags(spec),
                max_session_duration=str(int(spec.get("max_session_duration") or 3600)),
                linked_service=service if path.startswith("/aws-service-role/") else None)
            role.create_date = _created(spec)
            self.backend.roles[role.id] = role
            self.attach(role, spec)
            self.activity(role.arn, spec)
            used = [u for u in activity.of(role.arn).values() if u.time >= activity.cutoff()]
            if used:  # RoleLastUsed follows the latest activity, as in AWS
                last = max(used, key=lambda u: u.time)
                role.last_used, role.last_used_region = last.time, last.region

    def activity(self, arn: str, spec: dict) -> None:
        from .advisor import FORCED_FAILURES

        if spec.get("job_error"):
            FORCED_FAILURES[arn] = str(spec["job_error"])
        for namespace, use in (spec.get("activity") or {}).items():
            activity.record(arn, namespace, use or {})

    def load_organization(self) -> None:
        org = self.scenario.get("organization")
        if not org:
            return
        from moto.organizations import models as org_models

        from . import org_reports

        backend = org_models.organizations_backends[self.backend.account_id]["aws"]
        backend.create_organization(region=REGION, FeatureSet="ALL")
        # Access reports need SCPs enabled on the root; an Organization that tightens SCPs has.
        backend.enable_policy_type(RootId=backend.org.root_id, PolicyType="SERVICE_CONTROL_POLICY")
        original = org_models.utils.make_random_account_id
        try:
            for spec in org.get("accounts") or []:
                if spec["id"] != self.backend.account_id:
                    org_models.utils.make_random_account_id = lambda spec=spec: spec["id"]
                    backend.create_account(AccountName=spec.get("name", spec["id"]),
                                           Email=spec.get("email", f"{spec['id']}@example.com"))
                account = next(a for a in backend.accounts if a.id == spec["id"])
                account.name = spec.get("name", account.name)
                if spec["id"] != self.backend.account_id:
                    account.status = account.state = spec.get("status", "ACTIVE")
                if spec.get("joined_days_ago") is not None:
                    account.create_time = clock.days_before_start(float(spec["joined_days_ago"]))
                for namespace, use in (spec.get("activity") or {}).items():
                    parsed = activity.parse(use or {}, clock.days_before_start)
                    if parsed is not None:
                        org_reports.ACCOUNT_ACTIVITY.setdefault(spec["id"], {})[
                            namespace.lower()] = parsed
                if spec.get("report_error"):
                    org_reports.FORCED_FAILURES[spec["id"]] = str(spec["report_error"])
        finally:
            org_models.utils.make_random_account_id = original
        placed: set[str] = set()
        self.load_ous(backend, org.get("ous") or [], backend.org.root_id, placed)

    def load_ous(self, backend, specs: list, parent_id: str, placed: set[str]) -> None:
        """The OU tree: each OU created under its parent, its accounts moved into it."""
        from . import org_reports

        names: set[str] = set()
        for spec in specs:
            name = spec.get("name")
            if not name or name in names:
                raise ScenarioError(f"organization.ous: a name, unique under its parent, "
                                    f"is required (got {name!r})")
            names.add(name)
            ou_id = backend.create_organizational_unit(ParentId=parent_id, Name=name)[
                "OrganizationalUnit"]["Id"]
            if spec.get("report_error"):
                org_reports.FORCED_FAILURES[ou_id] = str(spec["report_error"])
            for account_id in spec.get("accounts") or []:
                account_id = str(account_id)
                if account_id in placed:
                    raise ScenarioError(f"organization.ous: account {account_id} is in two OUs")
                if not any(a.id == account_id for a in backend.accounts):
                    raise ScenarioError(f"organization.ous {name!r}: account {account_id} is "
                                        "not in organization.accounts")
                placed.add(account_id)
                backend.move_account(AccountId=account_id, SourceParentId=backend.org.root_id,
                                     DestinationParentId=ou_id)
            self.load_ous(backend, spec.get("ous") or [], ou_id, placed)

    def load(self) -> None:
        self.load_policies()
        self.load_groups()
        self.load_users()
        self.load_roles()
        self.load_organization()


def load(scenario: dict, account_id: str) -> IAMBackend:
    from .settings import current

    from . import caller

    backend = iam_backends[account_id]["aws"]
    Loader(backend, scenario).load()
    caller.configure(scenario, backend)
    # Other accounts, reached with sts:AssumeRole: moto keeps each account's data apart by the
    # credentials' account id.
    for other_id, spec in (scenario.get("accounts") or {}).items():
        if other_id == account_id:
            raise ScenarioError(f"accounts: {other_id!r} is the scenario's own account")
        spec = spec or {}
        if spec.get("deny_assume_role"):
            current.deny_assume_role.add(str(other_id))
        Loader(iam_backends[str(other_id)]["aws"], {**spec, "organization": None}).load()
    return backend
