"""Several accounts in one server: scenario `accounts`, reached through sts:AssumeRole, and an
account that refuses AssumeRole."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT

MEMBER = "210987654321"
LOCKED = "333344445555"

SCENARIO = {
    "account_id": ACCOUNT,
    "users": [{"name": "admin", "managed_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"]}],
    "accounts": {
        MEMBER: {
            "users": [{"name": "member-user", "inline_policies": {"s3": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
                "activity": {"s3": {"days_ago": 2}}}],
            "roles": [{"name": "Audit"}],
        },
        LOCKED: {"deny_assume_role": True},
    },
    "organization": {"accounts": [{"id": ACCOUNT, "name": "management"},
                                  {"id": MEMBER, "name": "member"},
                                  {"id": LOCKED, "name": "locked"}]},
}


@pytest.fixture(scope="module")
def server(start):
    return start(SCENARIO)


def assume(server, account: str):
    creds = server.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/Audit", RoleSessionName="test")["Credentials"]
    return dict(key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                token=creds["SessionToken"])


def test_assumed_credentials_see_the_members_own_entities(server):
    iam = server.client("iam", **assume(server, MEMBER))
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["member-user"]
    job = iam.generate_service_last_accessed_details(
        Arn=f"arn:aws:iam::{MEMBER}:user/member-user")["JobId"]
    services = iam.get_service_last_accessed_details(JobId=job)["ServicesLastAccessed"]
    assert [(s["ServiceNamespace"], "LastAuthenticated" in s) for s in services] == [("s3", True)]


def test_the_scenarios_account_keeps_its_own_entities(server):
    assert [u["UserName"] for u in server.client("iam").list_users()["Users"]] == ["admin"]


def test_an_account_can_refuse_assume_role(server):
    with pytest.raises(ClientError) as refused:
        assume(server, LOCKED)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_organization_lists_every_account(server):
    accounts = server.client("organizations").list_accounts()["Accounts"]
    assert sorted(a["Id"] for a in accounts) == sorted([ACCOUNT, MEMBER, LOCKED])
