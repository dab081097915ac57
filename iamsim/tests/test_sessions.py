"""Role sessions: DurationSeconds limits (role MaxSessionDuration, role chaining), a session
lifetime that makes credentials expire (ExpiredToken), and jobs bound to the session that
started them."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT

MEMBER = "210987654321"
ROLE_ARN = f"arn:aws:iam::{MEMBER}:role/Audit"
LONG_ROLE_ARN = f"arn:aws:iam::{MEMBER}:role/LongAudit"
USER_ARN = f"arn:aws:iam::{MEMBER}:user/member-user"
# Sessions of the `short` server expire as soon as they are granted, so no test has to wait.
LIFETIME = 0.001

SCENARIO = {
    "account_id": ACCOUNT,
    "accounts": {
        MEMBER: {
            "users": [{"name": "member-user", "inline_policies": {"s3": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}}}],
            "roles": [{"name": "Audit"},
                      {"name": "LongAudit", "max_session_duration": 14400}],
        },
    },
}


@pytest.fixture(scope="module")
def server(start):
    return start(SCENARIO)


@pytest.fixture(scope="module")
def short(start):
    return start(SCENARIO, "--session-lifetime-seconds", str(LIFETIME))


def session(server, role_arn=ROLE_ARN, duration=None, **signer):
    kwargs = {"RoleArn": role_arn, "RoleSessionName": "test"}
    if duration is not None:
        kwargs["DurationSeconds"] = duration
    answer = server.client("sts", **signer).assume_role(**kwargs)
    creds = answer["Credentials"]
    return dict(key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                token=creds["SessionToken"]), creds["Expiration"]


def refusal(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as refused:
        call()
    error = refused.value.response["Error"]
    return error["Code"], error["Message"], refused.value.response["ResponseMetadata"][
        "HTTPStatusCode"]


def test_duration_above_the_roles_max_session_duration_is_refused_as_sts_does(server):
    code, message, status = refusal(lambda: session(server, duration=43200))
    assert (code, status) == ("ValidationError", 400)
    assert message == ("The requested DurationSeconds exceeds the MaxSessionDuration set for "
                       "this role.")
    # The role's own limit is honoured, and an hour is always allowed.
    session(server, LONG_ROLE_ARN, duration=14400)
    assert refusal(lambda: session(server, LONG_ROLE_ARN, duration=21600))[0] == "ValidationError"
    session(server, duration=3600)
    # A role that does not exist has AWS's default limit, one hour.
    other = f"arn:aws:iam::{MEMBER}:role/NotThere"
    session(server, other, duration=3600)
    assert refusal(lambda: session(server, other, duration=7200))[0] == "ValidationError"


def test_duration_above_43200_is_refused(server):
    # (boto3 itself refuses less than 900 before sending)
    for duration in (43201, 86400):
        code, message, _ = refusal(lambda: session(server, LONG_ROLE_ARN, duration=duration))
        assert code == "ValidationError"
        assert "durationSeconds" in message


def test_role_chaining_is_limited_to_one_hour(server):
    first, _ = session(server, LONG_ROLE_ARN, duration=14400)
    code, message, _ = refusal(lambda: session(server, LONG_ROLE_ARN, duration=7200, **first))
    assert code == "ValidationError"
    assert "1 hour session limit for roles assumed by role chaining" in message
    session(server, LONG_ROLE_ARN, duration=3600, **first)


def test_a_job_is_read_only_by_the_session_that_started_it(server):
    mine, _ = session(server)
    other, _ = session(server)
    job = server.client("iam", **mine).generate_service_last_accessed_details(Arn=USER_ARN)["JobId"]
    answer = server.client("iam", **mine).get_service_last_accessed_details(JobId=job)
    assert answer["JobStatus"] == "COMPLETED"
    for reader in (other, {}):  # another session of the same role; the caller's own keys
        code, message, status = refusal(
            lambda reader=reader: server.client("iam", **reader).get_service_last_accessed_details(
                JobId=job))
        assert (code, status) == ("NoSuchEntity", 404)
        assert job in message
        code, _, _ = refusal(
            lambda reader=reader: server.client(
                "iam", **reader).get_service_last_accessed_details_with_entities(
                JobId=job, ServiceNamespace="s3"))
        assert code == "NoSuchEntity"


def test_credentials_expire_after_the_session_lifetime(server, short):
    # Without the option a session lasts as asked, and works.
    creds, expiration = session(server, duration=3600)
    assert 3500 < expiration.timestamp() - time.time() <= 3600
    assert server.client("iam", **creds).list_users()["Users"]
    # With it, the answer tells the client the shortened lifetime, not the hour asked for.
    creds, expiration = session(short, duration=3600)
    assert expiration.timestamp() - time.time() < 5
    iam = short.client("iam", **creds)
    code, message, status = refusal(lambda: iam.list_users())
    assert (code, status) == ("ExpiredToken", 403)
    assert message == "The security token included in the request is expired"
    # Access Advisor and STS refuse the expired session too; the caller's own keys still work.
    assert refusal(lambda: iam.generate_service_last_accessed_details(Arn=USER_ARN))[0] == \
        "ExpiredToken"
    assert refusal(lambda: session(short, **creds))[0] == "ExpiredToken"
    assert short.client("iam").list_users()["Users"] == []
