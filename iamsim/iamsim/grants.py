"""Which services (and actions) an entity's identity-based policies allow.

Access Advisor lists every service that any Allow statement of the entity's inline or
attached managed policies (for a user, also its groups' policies) grants. Resources,
conditions, Deny statements and permissions boundaries do not change the listing.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from . import catalogue

# A grant maps a namespace to the granted action names, or to ALL (every action).
ALL = None
Grant = dict[str, "frozenset[str] | None"]


@dataclass(frozen=True)
class PolicySource:
    """One identity policy in force for an entity, with its attribution for
    ListPoliciesGrantingServiceAccess."""

    name: str
    type: str  # INLINE | MANAGED
    document: str
    arn: str | None = None  # managed only
    entity_type: str | None = None  # inline only: USER | ROLE | GROUP
    entity_name: str | None = None


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


@lru_cache(maxsize=4096)
def _pattern(text: str) -> re.Pattern:
    """IAM wildcards (* and ?) as a case-insensitive regex."""
    escaped = re.escape(text.lower()).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(escaped + r"\Z")


def _namespaces_matching(service_pattern: str) -> list[str]:
    if "*" not in service_pattern and "?" not in service_pattern:
        return [service_pattern] if service_pattern in catalogue.services() else []
    rx = _pattern(service_pattern)
    return [ns for ns in catalogue.services() if rx.match(ns)]


def _split(action: str) -> tuple[str, str]:
    if action == "*":
        return "*", "*"
    service, _, name = action.partition(":")
    return service.lower(), (name or "*")


def _allowed_by_action(patterns: list[str]) -> Grant:
    grant: Grant = {}
    for raw in patterns:
        service_pattern, action_pattern = _split(str(raw))
        for ns in _namespaces_matching(service_pattern):
            if action_pattern == "*":
                grant[ns] = ALL
                continue
            rx = _pattern(action_pattern)
            matched = frozenset(a for a in catalogue.actions(ns) if rx.match(a.lower()))
            if matched:
                _merge_one(grant, ns, matched)
    return grant


def _allowed_by_not_action(patterns: list[str]) -> Grant:
    excluded: dict[str, list[str]] = {}  # namespace -> action patterns excluded
    for raw in patterns:
        service_pattern, action_pattern = _split(str(raw))
        for ns in _namespaces_matching(service_pattern):
            excluded.setdefault(ns, []).append(action_pattern)
    grant: Grant = {}
    for ns in catalogue.services():
        if ns not in excluded:
            grant[ns] = ALL
            continue
        if "*" in excluded[ns]:
            continue
        rxs = [_pattern(p) for p in excluded[ns]]
        remaining = frozenset(
            a for a in catalogue.actions(ns) if not any(rx.match(a.lower()) for rx in rxs)
        )
        if remaining:
            grant[ns] = remaining
    return grant


def _merge_one(grant: Grant, ns: str, actions: "frozenset[str] | None") -> None:
    if ns in grant and grant[ns] is ALL:
        return
    if actions is ALL or ns not in grant:
        grant[ns] = actions
    else:
        grant[ns] = grant[ns] | actions


def merge(grants: list[Grant]) -> Grant:
    out: Grant = {}
    for g in grants:
        for ns, actions in g.items():
            _merge_one(out, ns, actions)
    return out


@lru_cache(maxsize=65536)
def document_grant(document: str) -> Grant:
    """The services a policy document allows. Cached: big accounts share few documents."""
    try:
        doc = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return {}
    statements = doc.get("Statement", []) if isinstance(doc, dict) else []
    parts: list[Grant] = []
    for st in _as_list(statements):
        if not isinstance(st, dict) or st.get("Effect") != "Allow":
            continue
        if "Action" in st:
            parts.append(_allowed_by_action(_as_list(st["Action"])))
        elif "NotAction" in st:
            parts.append(_allowed_by_not_action(_as_list(st["NotAction"])))
    return merge(parts)


def default_document(policy) -> str:
    """The default version's document of a moto ManagedPolicy."""
    for version in policy.versions:
        if version.is_default:
            return version.document
    return policy.versions[0].document


def _managed(policies) -> list[PolicySource]:
    return [
        PolicySource(p.name, "MANAGED", default_document(p), arn=p.arn)
        for p in policies.values()
    ]


def _inline(policies: dict[str, str], entity_type: str, entity_name: str) -> list[PolicySource]:
    return [
        PolicySource(name, "INLINE", doc, entity_type=entity_type, entity_name=entity_name)
        for name, doc in policies.items()
    ]


def groups_of(backend, user) -> list:
    return [g for g in backend.groups.values() if user in g.users]


def user_policies(backend, user) -> list[PolicySource]:
    sources = _inline(user.policies, "USER", user.name) + _managed(user.managed_policies)
    for group in groups_of(backend, user):
        sources += group_policies(group)
    return sources


def role_policies(role) -> list[PolicySource]:
    return _inline(role.policies, "ROLE", role.name) + _managed(role.managed_policies)


def group_policies(group) -> list[PolicySource]:
    return _inline(group.policies, "GROUP", group.name) + _managed(group.managed_policies)


def grant_of(sources: list[PolicySource]) -> Grant:
    return merge([document_grant(s.document) for s in sources])
