"""`IsTruncated` on every paged IAM answer, as IAM sends it.

IAM answers `IsTruncated` (and `Marker` when it is true) on every operation its API model pages;
moto 5.2 leaves it out of several (ListGroups, GetGroup, ListGroupsForUser, ...), and a client
that reads it, as the SDKs' paginators do, fails or loops. Every IAM response method whose
operation's output has `IsTruncated` in botocore's model is wrapped: an answer without it gets
`IsTruncated` true when it carries a `Marker`, false otherwise. Answers that already carry it
(iamsim's own Access Advisor calls, moto's paged lists) pass unchanged.
"""

from __future__ import annotations

import functools

import botocore.session
from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse
from moto.core.utils import camelcase_to_underscores


def paged_operations() -> list[str]:
    """IAM operations whose answer has `IsTruncated`, from the API model."""
    model = botocore.session.get_session().get_service_model("iam")
    return [name for name in model.operation_names
            if (shape := model.operation_model(name).output_shape) is not None
            and "IsTruncated" in shape.members]


def _with_is_truncated(original):
    @functools.wraps(original)
    def method(self, *args, **kwargs):
        answer = original(self, *args, **kwargs)
        if isinstance(answer, ActionResult) and isinstance(answer.result, dict):
            answer.result.setdefault("IsTruncated", bool(answer.result.get("Marker")))
        return answer

    return method


def install() -> None:
    """Call after every other IAM patch, so their methods are wrapped too."""
    for operation in paged_operations():
        name = camelcase_to_underscores(operation)
        original = getattr(IamResponse, name, None)
        if original is not None:  # not served by moto: iamsim answers InvalidAction
            setattr(IamResponse, name, _with_is_truncated(original))
