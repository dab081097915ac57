"""Scenario `caller` (what GetCallerIdentity names for unknown credentials) and S3 conditional
writes (`If-None-Match: *`), which iamsweep's journal relies on never to overwrite an entry."""

from __future__ import annotations

import subprocess

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, ROOT

BASE = {
    "account_id": ACCOUNT,
    "users": [{"name": "alice", "path": "/team/"}],
    "roles": [{"name": "deployer", "trusted_service": "codebuild.amazonaws.com"}],
}


def test_the_caller_can_be_a_user(start):
    server = start({**BASE, "caller": {"user": "alice"}})
    identity = server.client("sts").get_caller_identity()
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/alice"
    assert identity["Account"] == ACCOUNT
    user = server.client("iam").get_user(UserName="alice")["User"]
    assert identity["UserId"] == user["UserId"]


def test_the_caller_can_be_an_assumed_role_session_and_real_sessions_keep_theirs(start):
    server = start({**BASE, "caller": {"role": "deployer", "session": "ci"}})
    sts = server.client("sts")
    identity = sts.get_caller_identity()
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"
    role_id = server.client("iam").get_role(RoleName="deployer")["Role"]["RoleId"]
    assert identity["UserId"] == f"{role_id}:ci"
    # Credentials moto issued itself are still who they are.
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/deployer",
                            RoleSessionName="other")["Credentials"]
    session = server.client("sts", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                            token=creds["SessionToken"])
    assert session.get_caller_identity()["Arn"].endswith(":assumed-role/deployer/other")


def test_without_a_caller_moto_answers_as_before(start):
    server = start(BASE)
    assert server.client("sts").get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:user/moto"


@pytest.mark.parametrize("caller,message", [
    ({"user": "nobody"}, "unknown user"),
    ({"role": "deployer"}, "session"),
    ({"role": "deployer", "session": "a b"}, "session"),
    ({"user": "alice", "role": "deployer"}, "expected"),
])
def test_a_caller_that_is_not_in_the_scenario_is_refused(tmp_path, caller, message):
    path = tmp_path / "scenario.json"
    path.write_text(__import__("json").dumps({**BASE, "caller": caller}))
    proc = subprocess.run([str(ROOT / "serve"), "--scenario", str(path), "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_put_object_with_if_none_match_never_overwrites(start):
    s3 = start(BASE).client("s3")
    s3.create_bucket(Bucket="journal")
    s3.put_object(Bucket="journal", Key="a/000001.json", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as error:
        s3.put_object(Bucket="journal", Key="a/000001.json", Body=b"second", IfNoneMatch="*")
    assert error.value.response["Error"]["Code"] == "PreconditionFailed"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    body = s3.get_object(Bucket="journal", Key="a/000001.json")["Body"].read()
    assert body == b"first"
