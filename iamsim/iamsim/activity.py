"""Recorded service use per entity ARN: what Access Advisor reports from.

Filled from the scenario's `activity` maps when the server starts.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime

from . import clock

# Access Advisor's tracking period: older use is reported as "not used".
TRACKING_DAYS = 400


@dataclass
class ActionUse:
    time: datetime
    region: str


@dataclass
class ServiceUse:
    time: datetime
    region: str
    actions: dict[str, ActionUse] = field(default_factory=dict)


# entity ARN -> namespace -> use. ARNs carry the account, so accounts stay apart.
_USE: dict[str, dict[str, ServiceUse]] = {}
_LOCK = threading.Lock()


def parse(spec: dict, before) -> ServiceUse | None:
    """One activity entry {days_ago?, region?, actions?: {Name: days_ago}}, its ages counted
    back by `before(days)`; None when it names no time."""
    region = spec.get("region", "us-east-1")
    actions = {  # keyed by lower-case name: IAM action names are case-insensitive
        name.lower(): ActionUse(before(float(days)), region)
        for name, days in (spec.get("actions") or {}).items()
    }
    times = [a.time for a in actions.values()]
    if spec.get("days_ago") is not None:
        times.append(before(float(spec["days_ago"])))
    if not times:
        return None
    return ServiceUse(max(times), region, actions)


def record(arn: str, namespace: str, spec: dict) -> None:
    """Store one scenario activity entry, its ages counted from the server start."""
    use = parse(spec, clock.days_before_start)
    if use is not None:
        _USE.setdefault(arn, {})[namespace.lower()] = use


def record_now(arn: str, namespace: str, spec: dict) -> ServiceUse | None:
    """Add a use that happens now (`POST /_iamsim/activity`): ages count from this moment,
    and an earlier record of the service keeps whatever is later, per service and action."""
    use = parse(spec, clock.days_before_now)
    if use is None:
        return None
    with _LOCK:
        uses = _USE.setdefault(arn, {})
        known = uses.get(namespace.lower())
        if known is not None:
            for name, action in known.actions.items():
                if name not in use.actions or action.time > use.actions[name].time:
                    use.actions[name] = action
            if known.time > use.time:
                use.time, use.region = known.time, known.region
        uses[namespace.lower()] = use
    return use


def items() -> list[tuple[str, dict[str, ServiceUse]]]:
    """Every entity ARN with its uses (a copy, safe to iterate while requests add uses)."""
    with _LOCK:
        return [(arn, dict(uses)) for arn, uses in _USE.items()]


def of(arn: str) -> dict[str, ServiceUse]:
    return _USE.get(arn, {})


def cutoff() -> datetime:
    from datetime import timedelta

    return clock.naive_now() - timedelta(days=TRACKING_DAYS)
