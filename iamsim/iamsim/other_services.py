"""Fixes outside IAM: AWS Config PutEvaluations without TestMode, and a proper 400
`InvalidAction` error for actions moto does not implement (moto answers an HTML 500,
which SDKs retry for seconds)."""

from __future__ import annotations

import functools
import json
import threading

from botocore.model import OperationNotFoundError
from moto.config.models import ConfigBackend
from moto.core.responses import BaseResponse

from . import faults

# Every evaluation a rule reported, for inspection; --record logs the calls as well.
EVALUATIONS: list[dict] = []
_LOCK = threading.Lock()


def put_evaluations(self, evaluations=None, result_token=None, test_mode=False):
    from moto.config.exceptions import InvalidParameterValueException, InvalidResultTokenException

    if not evaluations:
        raise InvalidParameterValueException(
            "The Evaluations object in your request cannot be null."
            "Add the required parameters and try again.")
    if not result_token:
        raise InvalidResultTokenException()
    if not test_mode:
        with _LOCK:
            EVALUATIONS.extend(evaluations)
    return {"FailedEvaluations": []}


def _invalid_action(self, message: str):
    headers = {"status": 400}
    if self.headers.get("X-Amz-Target") or "json" in self.headers.get("Content-Type", ""):
        headers["Content-Type"] = "application/x-amz-json-1.1"
        body = json.dumps({"__type": "InvalidAction", "message": message})
    else:
        headers["Content-Type"] = "text/xml"
        body = faults.query_error("InvalidAction", message).decode()
    return 400, headers, body


def _wrap_dispatch(original):
    # Unknown actions fail in parameter parsing (no botocore operation model) or in
    # call_action (no method): both surface here.
    @functools.wraps(original)
    def _dispatch(self, request, full_url, headers):
        try:
            return original(self, request, full_url, headers)
        except (NotImplementedError, OperationNotFoundError):
            action = self._get_action() or "(none)"
            return _invalid_action(self, f"The action {action} is not valid for this web service.")

    return _dispatch


def install() -> None:
    ConfigBackend.put_evaluations = put_evaluations
    BaseResponse._dispatch = _wrap_dispatch(BaseResponse._dispatch)
