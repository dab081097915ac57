"""iamsim's own control endpoint, for tests and scripts outside the project:
`POST /_iamsim/activity` records a use as if it had just happened.

Body: `{"arn": ENTITY_ARN, "service": NAMESPACE, "days_ago": 0, "actions": {"Name": 0}}`
(`days_ago` counts back from the moment of the request; `actions` optional; `region` optional).
Answers 200 `{"arn", "service", "last_authenticated"}`, or 400 `{"error": ...}` naming the field.
The entity must exist in its account (404 otherwise). A role's `RoleLastUsed` follows, as in AWS.
Control calls are not AWS calls: `--record` does not log them.
"""

from __future__ import annotations

import json
import re

from . import activity, advisor, catalogue

PATH = "/_iamsim/activity"
NAMESPACE = re.compile(r"^[a-z0-9-]{1,64}$")


def _answer(start_response, status: str, body: dict):
    data = json.dumps(body, default=str).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def _number(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"{field}: a number of days >= 0 is expected")
    return float(value)


def _validate(body) -> dict:
    if not isinstance(body, dict):
        raise ValueError("body: a JSON object is expected")
    unknown = set(body) - {"arn", "service", "days_ago", "actions", "region"}
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown field")
    if not isinstance(body.get("arn"), str) or not advisor.ARN.match(body["arn"]):
        raise ValueError("arn: the ARN of an IAM user, role or group is expected")
    service = body.get("service")
    if not isinstance(service, str) or not NAMESPACE.match(service):
        raise ValueError("service: a service namespace such as \"dynamodb\" is expected")
    if service not in catalogue.services():
        raise ValueError(f"service: {service!r} is not a namespace of the IAM catalogue")
    spec = {"days_ago": _number(body.get("days_ago", 0), "days_ago")}
    actions = body.get("actions")
    if actions is not None:
        if not isinstance(actions, dict):
            raise ValueError("actions: an object {\"ActionName\": days_ago} is expected")
        spec["actions"] = {str(name): _number(days, f"actions.{name}")
                           for name, days in actions.items()}
    if "region" in body:
        if not isinstance(body["region"], str):
            raise ValueError("region: a region name is expected")
        spec["region"] = body["region"]
    return spec


def handle(environ, start_response):
    if environ.get("REQUEST_METHOD") != "POST":
        return _answer(start_response, "405 Method Not Allowed", {"error": "POST only"})
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    try:
        body = json.loads(raw or b"null")
        spec = _validate(body)
    except ValueError as error:  # json.JSONDecodeError is a ValueError
        return _answer(start_response, "400 Bad Request", {"error": str(error)})
    from moto.iam.models import iam_backends

    arn = body["arn"]
    account = arn.split(":")[4]
    backend = iam_backends[account]["aws"]
    try:
        kind, entity = advisor.resolve(backend, arn, kinds=("user", "role", "group"))
    except Exception:
        return _answer(start_response, "404 Not Found", {"error": f"arn: no entity {arn}"})
    use = activity.record_now(arn, body["service"], spec)
    if kind == "role" and use is not None and (entity.last_used is None
                                               or use.time > entity.last_used):
        entity.last_used, entity.last_used_region = use.time, use.region
    return _answer(start_response, "200 OK", {"arn": arn, "service": body["service"],
                                              "last_authenticated": use.time.isoformat() + "Z"})
