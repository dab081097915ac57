"""Recorded service use per entity ARN: what Access Advisor reports from.

Filled from the scenario's `activity` maps when the server starts.
"""

from __future__ import annotations

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


def record(arn: str, namespace: str, spec: dict) -> None:
    """Store one scenario activity entry: {days_ago?, region?, actions?: {Name: days_ago}}."""
    region = spec.get("region", "us-east-1")
    actions = {  # keyed by lower-case name: IAM action names are case-insensitive
        name.lower(): ActionUse(clock.days_before_start(float(days)), region)
        for name, days in (spec.get("actions") or {}).items()
    }
    times = [a.time for a in actions.values()]
    if spec.get("days_ago") is not None:
        times.append(clock.days_before_start(float(spec["days_ago"])))
    if not times:
        return
    _USE.setdefault(arn, {})[namespace.lower()] = ServiceUse(max(times), region, actions)


def of(arn: str) -> dict[str, ServiceUse]:
    return _USE.get(arn, {})


def cutoff() -> datetime:
    from datetime import timedelta

    return clock.naive_now() - timedelta(days=TRACKING_DAYS)
