"""Role sessions as STS grants them: `DurationSeconds` limits, session lifetime and expiry.

- `AssumeRole` checks `DurationSeconds` as STS does: 900..43200, at most the role's
  `MaxSessionDuration` (scenario `max_session_duration`, default 3600, also for a role that does
  not exist, as iamsim lets any role be assumed), and at most 3600 when the request is signed
  with an assumed role's credentials (role chaining). Otherwise HTTP 400 `ValidationError` with
  STS's message.
- `--session-lifetime-seconds N`: every session `AssumeRole` grants expires N seconds after it
  was granted, whatever `DurationSeconds` asked (the answer's `Expiration` says so), so a test
  sees sessions expire in seconds instead of hours.
- A request signed with an expired session's credentials answers HTTP 403 `ExpiredToken`,
  "The security token included in the request is expired", on every service.

Sessions are known by their access key id; keys iamsim did not issue (the test credentials)
never expire.
"""

from __future__ import annotations

import datetime
import re
import threading
import time

from .settings import current as settings

ACCESS_KEY = re.compile(r"Credential=([A-Z0-9]+)/")
MIN_DURATION = 900
MAX_DURATION = 43200
ONE_HOUR = 3600

EXPIRED = (403, "ExpiredToken", "The security token included in the request is expired")

# access key id -> when the session expires (time.time() seconds)
_EXPIRES: dict[str, float] = {}
_LOCK = threading.Lock()


def access_key(environ) -> str | None:
    """The access key id a request is signed with (SigV4 header or presigned query)."""
    m = ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m:
        return m.group(1)
    query = environ.get("QUERY_STRING", "")
    m = re.search(r"X-Amz-Credential=([A-Z0-9]+)(?:/|%2F)", query)
    return m.group(1) if m else None


def _validation(message: str) -> tuple[int, str, str]:
    return (400, "ValidationError", message)


def _max_session_duration(role_arn: str) -> int:
    """The role's MaxSessionDuration, or 3600 (AWS's default) when the role is unknown."""
    from moto.iam.models import iam_backends

    parts = role_arn.split(":", 5)
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return ONE_HOUR
    name = parts[5].rsplit("/", 1)[-1]
    backend = iam_backends[parts[4]]["aws"]
    try:
        role = backend.get_role(name)
    except Exception:
        return ONE_HOUR
    try:
        return int(role.max_session_duration or ONE_HOUR)
    except (TypeError, ValueError):
        return ONE_HOUR


def assume_role_refusal(environ, params: dict) -> tuple[int, str, str] | None:
    """The ValidationError STS answers an `AssumeRole` asking for a session the role cannot
    have, if any."""
    key = access_key(environ)
    text = params.get("DurationSeconds")
    if text is None:
        return None
    try:
        duration = int(text)
    except ValueError:
        return _validation(f"1 validation error detected: Value '{text}' at 'durationSeconds' "
                           "failed to satisfy constraint: Member must be a number")
    if duration < MIN_DURATION:
        return _validation(f"1 validation error detected: Value '{duration}' at "
                           "'durationSeconds' failed to satisfy constraint: Member must have "
                           f"value greater than or equal to {MIN_DURATION}")
    if duration > MAX_DURATION:
        return _validation(f"1 validation error detected: Value '{duration}' at "
                           "'durationSeconds' failed to satisfy constraint: Member must have "
                           f"value less than or equal to {MAX_DURATION}")
    with _LOCK:
        chained = key in _EXPIRES
    if chained and duration > ONE_HOUR:
        return _validation("The requested DurationSeconds exceeds the 1 hour session limit for "
                           "roles assumed by role chaining.")
    if duration > _max_session_duration(str(params.get("RoleArn", ""))):
        return _validation("The requested DurationSeconds exceeds the MaxSessionDuration set for "
                           "this role.")
    return None


def expired(environ) -> tuple[int, str, str] | None:
    """`ExpiredToken` for a request signed with an expired session's credentials."""
    key = access_key(environ)
    if key is None:
        return None
    with _LOCK:
        expires = _EXPIRES.get(key)
    if expires is not None and time.time() >= expires:
        return EXPIRED
    return None


def _wrap_assume_role(original):
    def assume_role(self, *args, **kwargs):
        role = original(self, *args, **kwargs)
        now = time.time()
        lifetime = settings.session_lifetime_seconds
        if lifetime:
            # moto stores naive UTC; the answer's Expiration follows the shortened lifetime.
            role.expiration = (datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
                               + datetime.timedelta(seconds=lifetime))
            expires = now + lifetime
        else:
            expires = now + int(kwargs.get("duration") or ONE_HOUR)
        with _LOCK:
            _EXPIRES[role.access_key_id] = expires
        return role

    return assume_role


def install() -> None:
    from moto.sts.models import STSBackend

    STSBackend.assume_role = _wrap_assume_role(STSBackend.assume_role)
