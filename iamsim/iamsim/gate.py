"""WSGI wrapper in front of moto: names each call and the account it acts in, applies IAM
throttling (per account) and injected errors, and writes the --record log (one JSON line per
call, throttled ones included)."""

from __future__ import annotations

import io
import json
import re
import threading
from urllib.parse import parse_qsl, unquote

from . import faults, sessions
from .settings import current as settings

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/[^/]+/[^/]+/([^/]+)/")
ACCESS_KEY = re.compile(r"Credential=([^/,\s]+)/")
MEMBER = re.compile(r"^(?P<name>[^.]+)\.member\.(?P<index>\d+)(?:\.(?P<field>.+))?$")


class Recorder:
    def __init__(self, path: str | None):
        self.file = open(path, "a", buffering=1) if path else None
        self.lock = threading.Lock()

    def write(self, service: str, action: str, params: dict, status: int,
              account: str) -> None:
        if self.file is None:
            return
        line = json.dumps({"service": service, "action": action, "params": params,
                           "status": status, "account": account}, default=str)
        with self.lock:
            self.file.write(line + "\n")
            self.file.flush()


def service_of(environ) -> str:
    """The SigV4 credential scope names the service, as moto's own dispatcher uses it."""
    m = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not m:
        m = CREDENTIAL_SCOPE.search("Credential=" + unquote(
            dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("X-Amz-Credential", "")))
    return m.group(1) if m else "unknown"


def access_key_of(environ) -> str:
    """The access key id of the request's SigV4 signature (header or presigned query)."""
    m = ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not m:
        m = ACCESS_KEY.search("Credential=" + unquote(
            dict(parse_qsl(environ.get("QUERY_STRING", ""))).get("X-Amz-Credential", "")))
    return m.group(1) if m else ""


class Accounts:
    """The account a request acts in, from its access key, as moto decides it (an assumed
    role's keys belong to the role's account, any other key to the scenario's account).
    Cached per key: a key never changes account, and moto's lookup scans every account."""

    def __init__(self):
        self.by_key: dict[str, str] = {}
        self.lock = threading.Lock()

    def of(self, environ) -> str:
        from moto.iam.models import get_account_id_from

        key = access_key_of(environ)
        with self.lock:
            account = self.by_key.get(key)
        if account is None:
            account = get_account_id_from(key)
            with self.lock:
                self.by_key[key] = account
        return account


def _query_params(pairs: list[tuple[str, str]]) -> tuple[str, dict]:
    """Query-protocol form fields -> (Action, params); `X.member.N` lists are collapsed."""
    action, params, lists = "", {}, {}
    for key, value in pairs:
        if key == "Action":
            action = value
        elif key == "Version":
            continue
        elif m := MEMBER.match(key):
            slot = lists.setdefault(m["name"], {})
            if m["field"]:
                slot.setdefault(int(m["index"]), {})[m["field"]] = value
            else:
                slot[int(m["index"])] = value
        else:
            params[key] = value
    for name, slot in lists.items():
        params[name] = [slot[i] for i in sorted(slot)]
    return action, params


def _s3_call(method: str, path: str) -> tuple[str, dict]:
    parts = path.lstrip("/").split("/", 1)
    bucket = unquote(parts[0]) if parts[0] else None
    key = unquote(parts[1]) if len(parts) > 1 and parts[1] else None
    params = {k: v for k, v in (("Bucket", bucket), ("Key", key)) if v}
    if key:
        names = {"GET": "GetObject", "PUT": "PutObject", "HEAD": "HeadObject",
                 "DELETE": "DeleteObject", "POST": "PostObject"}
    elif bucket:
        names = {"GET": "ListObjects", "PUT": "CreateBucket", "HEAD": "HeadBucket",
                 "DELETE": "DeleteBucket", "POST": "PostBucket"}
    else:
        names = {"GET": "ListBuckets"}
    return names.get(method, method), params


def describe(service: str, environ, body: bytes) -> tuple[str, dict]:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            params = {}
        return target.split(".")[-1], params if isinstance(params, dict) else {}
    if service == "s3":
        return _s3_call(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""))
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    pairs += parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return _query_params(pairs)


class Gate:
    def __init__(self, app, recorder: Recorder):
        self.app = app
        self.recorder = recorder
        self.buckets = faults.AccountBuckets(settings.rate, settings.burst) if settings.rate else None
        self.accounts = Accounts()

    def _read_body(self, environ) -> bytes:
        """Read form and JSON bodies (to name the call) and hand moto a fresh stream.
        Other bodies (S3 objects) are left alone."""
        ctype = environ.get("CONTENT_TYPE", "")
        if "x-www-form-urlencoded" not in ctype and "json" not in ctype:
            return b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        return body

    def __call__(self, environ, start_response):
        from . import control

        if environ.get("PATH_INFO") == control.PATH:
            return control.handle(environ, start_response)
        service = service_of(environ)
        action, params = describe(service, environ, self._read_body(environ))
        account = self.accounts.of(environ)
        fault = sessions.expired(environ)
        if fault is None and service == "sts" and action == "AssumeRole":
            # scenario `accounts.ID.deny_assume_role`: the account refuses every role session
            role_arn = str(params.get("RoleArn", ""))
            parts = role_arn.split(":")
            if len(parts) > 4 and parts[4] in settings.deny_assume_role:
                fault = (403, "AccessDenied", "User is not authorized to perform: sts:AssumeRole "
                                              f"on resource: {role_arn}")
            else:
                fault = sessions.assume_role_refusal(environ, params)
        elif fault is None and service == "iam":
            if self.buckets is not None and not self.buckets.take(account):
                fault = faults.THROTTLED
            elif faults.chance(settings.error_rate_percent):
                fault = faults.SERVICE_FAILURE
        if fault:
            status, code, message = fault
            if environ.get("HTTP_X_AMZ_TARGET"):  # JSON-protocol services (Organizations, Config)
                body = json.dumps({"__type": code, "message": message}).encode()
                content_type = "application/x-amz-json-1.1"
            else:
                body = faults.query_error(code, message, sender=status < 500)
                content_type = "text/xml"
            reason = {400: "Bad Request", 403: "Forbidden"}.get(status, "Internal Server Error")
            start_response(f"{status} {reason}",
                           [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            self.recorder.write(service, action, params, status, account)
            return [body]
        seen = []

        def recording_start_response(status, headers, exc_info=None):
            seen.append(int(status.split()[0]))
            return start_response(status, headers, exc_info)

        result = self.app(environ, recording_start_response)
        self.recorder.write(service, action, params, seen[0] if seen else 0, account)
        return result
