"""Scenario `caller`: the principal `sts:GetCallerIdentity` names for credentials moto does not
know (the test credentials every client uses).

moto answers those with `arn:aws:sts::ACCOUNT:user/moto`, which is no user or role of the
account, so a client's "never touch the principal running me" guardrail could not be tested
end to end. With `"caller": {"user": "alice"}` the answer is that user's ARN; with
`"caller": {"role": "deployer", "session": "ci"}` it is the assumed-role session
`arn:aws:sts::ACCOUNT:assumed-role/deployer/ci`, as for credentials from `AssumeRole`.
Credentials moto issued itself (an `AssumeRole` session, a user's access key) keep their own
identity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")


@dataclass(frozen=True)
class Identity:
    user_id: str
    arn: str


# account id -> the identity GetCallerIdentity answers for unknown credentials
CALLERS: dict[str, Identity] = {}


def configure(scenario: dict, backend) -> None:
    """Reads the scenario's `caller` (after its users and roles are loaded)."""
    from .scenario import ScenarioError

    spec = scenario.get("caller")
    if not spec:
        return
    if not isinstance(spec, dict) or ("user" in spec) == ("role" in spec):
        raise ScenarioError('caller: expected {"user": NAME} or {"role": NAME, "session": NAME}')
    account = backend.account_id
    if "user" in spec:
        user = backend.users.get(spec["user"])
        if user is None:
            raise ScenarioError(f"caller: unknown user {spec['user']!r}")
        CALLERS[account] = Identity(user.id, user.arn)
        return
    role = next((r for r in backend.roles.values() if r.name == spec["role"]), None)
    if role is None:
        raise ScenarioError(f"caller: unknown role {spec['role']!r}")
    session = str(spec.get("session") or "")
    if not SESSION_NAME.match(session):
        raise ScenarioError(f"caller: session {session!r} is not a role session name "
                            "(2 to 64 of letters, digits and +=,.@-)")
    CALLERS[account] = Identity(
        f"{role.id}:{session}",
        f"arn:{backend.partition}:sts::{account}:assumed-role/{role.name}/{session}")


def install() -> None:
    from moto.sts.models import STSBackend
    from moto.utilities.utils import get_partition

    original = STSBackend.get_caller_identity

    def get_caller_identity(self, access_key_id: str, region: str):
        user_id, arn, account = original(self, access_key_id, region)
        identity = CALLERS.get(self.account_id)
        # Only moto's stand-in for unknown credentials is replaced.
        if identity and arn == f"arn:{get_partition(region)}:sts::{self.account_id}:user/moto":
            return identity.user_id, identity.arn, account
        return user_id, arn, account

    STSBackend.get_caller_identity = get_caller_identity
