"""IAM behaviour iamsim adds or checks on top of moto: boundaries, tags, authorization
details, policy versions and limits, service-linked roles, the example scenario."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, arn

BOUNDARY = arn("policy", "AppBoundary", "/boundaries/")


@pytest.fixture(scope="module")
def server(start):
    return start()  # scenarios/example.json


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


def code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def auth_details(iam, **kwargs) -> dict[str, list]:
    out = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    pages = 0
    for page in iam.get_paginator("get_account_authorization_details").paginate(**kwargs):
        pages += 1
        for key in out:
            out[key] += page[key]
    out["pages"] = pages
    return out


def test_user_boundary_round_trip(iam):
    assert "PermissionsBoundary" not in iam.get_user(UserName="alice")["User"]
    iam.put_user_permissions_boundary(UserName="alice", PermissionsBoundary=BOUNDARY)
    assert iam.get_user(UserName="alice")["User"]["PermissionsBoundary"] == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": BOUNDARY}
    users = {u["UserName"]: u for u in auth_details(iam, Filter=["User"])["UserDetailList"]}
    assert users["alice"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    iam.delete_user_permissions_boundary(UserName="alice")
    assert "PermissionsBoundary" not in iam.get_user(UserName="alice")["User"]
    with pytest.raises(ClientError) as e:
        iam.put_user_permissions_boundary(UserName="alice", PermissionsBoundary=arn("policy", "Nope"))
    assert code(e) == "NoSuchEntity"


def test_role_boundary_round_trip(iam):
    role = iam.get_role(RoleName="bounded-worker")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    iam.put_role_permissions_boundary(RoleName="app", PermissionsBoundary=BOUNDARY)
    assert iam.get_role(RoleName="app")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    roles = {r["RoleName"]: r for r in auth_details(iam, Filter=["Role"])["RoleDetailList"]}
    assert roles["app"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    iam.delete_role_permissions_boundary(RoleName="app")
    assert "PermissionsBoundary" not in iam.get_role(RoleName="app")["Role"]
    with pytest.raises(ClientError) as e:
        iam.put_role_permissions_boundary(RoleName="app", PermissionsBoundary=arn("policy", "Nope"))
    assert code(e) == "NoSuchEntity"


def test_service_linked_role_is_unmodifiable(iam):
    name = "AWSServiceRoleForECS"
    attempts = [
        lambda: iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=BOUNDARY),
        lambda: iam.delete_role_permissions_boundary(RoleName=name),
        lambda: iam.attach_role_policy(RoleName=name, PolicyArn=arn("policy", "AppData")),
        lambda: iam.put_role_policy(RoleName=name, PolicyName="x", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as e:
            attempt()
        assert code(e) == "UnmodifiableEntity"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    iam.tag_role(RoleName=name, Tags=[{"Key": "k", "Value": "v"}])  # tagging stays allowed


def test_authorization_details_paging_tags_and_documents(iam):
    whole = auth_details(iam)
    paged = auth_details(iam, PaginationConfig={"PageSize": 2})
    assert paged["pages"] > 3
    for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
        assert [x.get("Arn") for x in paged[key]] == [x.get("Arn") for x in whole[key]]
    users = {u["UserName"]: u for u in whole["UserDetailList"]}
    assert {"Key": "team", "Value": "web"} in users["alice"]["Tags"]
    assert users["alice"]["GroupList"] == ["devs"]
    roles = {r["RoleName"]: r for r in whole["RoleDetailList"]}
    assert {"Key": "app", "Value": "orders"} in roles["app"]["Tags"]
    assert roles["app"]["RolePolicyList"][0]["PolicyName"] == "queue"
    # Only attached AWS managed policies are listed, customer ones always.
    names = {p["PolicyName"] for p in whole["Policies"]}
    assert {"AppData", "AdministratorAccess", "ReadOnlyAccess"} <= names
    assert "AmazonSQSFullAccess" not in names


def test_authorization_details_documents_are_url_encoded(server, iam):
    raw = []
    iam.meta.events.register("after-call.iam.GetAccountAuthorizationDetails",
                             lambda http_response, **_: raw.append(http_response.text))
    iam.get_account_authorization_details(Filter=["Role"])
    assert "%7B%22" in raw[-1] or "%7B%0A" in raw[-1]  # "{" URL-encoded
    doc = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    app = next(r for r in doc if r["RoleName"] == "app")
    # boto3 decodes it: the decoded text is the JSON document.
    policy = app["RolePolicyList"][0]["PolicyDocument"]
    assert (json.loads(unquote(policy)) if isinstance(policy, str) else policy)["Statement"]


def test_user_and_role_tags(iam):
    iam.tag_user(UserName="auditor", Tags=[{"Key": "owner", "Value": "sec"}])
    assert {"Key": "owner", "Value": "sec"} in iam.list_user_tags(UserName="auditor")["Tags"]
    iam.untag_user(UserName="auditor", TagKeys=["owner"])
    assert {"Key": "owner", "Value": "sec"} not in iam.list_user_tags(UserName="auditor")["Tags"]
    iam.tag_role(RoleName="app", Tags=[{"Key": "owner", "Value": "web"}])
    assert {"Key": "owner", "Value": "web"} in iam.list_role_tags(RoleName="app")["Tags"]
    iam.untag_role(RoleName="app", TagKeys=["owner"])
    assert {"Key": "owner", "Value": "web"} not in iam.list_role_tags(RoleName="app")["Tags"]


def document(n_actions: int) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [f"s3:GetObject{i}" for i in range(n_actions)], "Resource": "*"}]})


def test_policy_versions_and_limits(iam):
    p = iam.create_policy(PolicyName="Versions", PolicyDocument=document(1))["Policy"]
    assert iam.get_policy(PolicyArn=p["Arn"])["Policy"]["DefaultVersionId"] == "v1"
    for i in range(2, 6):
        v = iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=document(i), SetAsDefault=True)
        assert v["PolicyVersion"]["VersionId"] == f"v{i}"
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=document(6), SetAsDefault=True)
    assert code(e) == "LimitExceeded"
    versions = iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"]
    assert len(versions) == 5 and [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v5"]
    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=p["Arn"], VersionId="v5")  # the default
    assert code(e) == "DeleteConflict"
    iam.delete_policy_version(PolicyArn=p["Arn"], VersionId="v1")
    iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=document(6), SetAsDefault=True)
    got = iam.get_policy_version(PolicyArn=p["Arn"], VersionId="v6")["PolicyVersion"]
    assert got["IsDefaultVersion"]
    for v in iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"]:
        if not v["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=p["Arn"], VersionId=v["VersionId"])
    iam.delete_policy(PolicyArn=p["Arn"])
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn=p["Arn"])
    assert code(e) == "NoSuchEntity"


def test_managed_policy_size_quota(iam):
    big = document(400)  # well over 6,144 non-whitespace characters
    assert len("".join(big.split())) > 6144
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName="TooBig", PolicyDocument=big)
    assert code(e) == "LimitExceeded"
    p = iam.create_policy(PolicyName="Small", PolicyDocument=document(1))["Policy"]
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=p["Arn"], PolicyDocument=big)
    assert code(e) == "LimitExceeded"
    # Whitespace does not count.
    spaced = json.dumps(json.loads(document(150)), indent=40)
    assert len(spaced) > 6144 and len("".join(spaced.split())) < 6144
    iam.create_policy(PolicyName="Spaced", PolicyDocument=spaced)


def test_account_id_and_sts(server):
    sts = server.client("sts")
    assert sts.get_caller_identity()["Account"] == ACCOUNT
    creds = sts.assume_role(RoleArn="arn:aws:iam::210987654321:role/audit",
                            RoleSessionName="iamsweep")["Credentials"]
    other = dict(key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"])
    assert server.client("sts", **other).get_caller_identity()["Account"] == "210987654321"
    other_iam = server.client("iam", **other)
    assert [u["UserName"] for u in other_iam.list_users()["Users"]] == []
    other_iam.create_user(UserName="only-there")
    names = [u["UserName"] for u in server.client("iam").list_users()["Users"]]
    assert "only-there" not in names and "alice" in names


def test_s3_config_organizations(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket="lists")
    s3.put_object(Bucket="lists", Key="exclusions.txt", Body=b"role/app\n")
    assert s3.get_object(Bucket="lists", Key="exclusions.txt")["Body"].read() == b"role/app\n"
    config = server.client("config")
    r = config.put_evaluations(ResultToken="token", Evaluations=[{
        "ComplianceResourceType": "AWS::IAM::Role", "ComplianceResourceId": "AROAEXAMPLE",
        "ComplianceType": "NON_COMPLIANT", "Annotation": "unused services",
        "OrderingTimestamp": "2026-01-01T00:00:00Z"}])
    assert r["FailedEvaluations"] == []
    accounts = {a["Id"]: a for a in server.client("organizations").list_accounts()["Accounts"]}
    assert accounts[ACCOUNT]["Name"] == "management"
    assert accounts["210987654321"]["Name"] == "workloads-prod"
    assert accounts["210987654321"]["Status"] == "ACTIVE"


def test_unknown_action_is_a_400_xml_error(server):
    import urllib.request

    req = urllib.request.Request(
        server.url + "/", data=b"Action=NoSuchThing&Version=2010-05-08", method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded",
                 "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/"
                                  "us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 400
    body = e.value.read().decode()
    assert "<Code>InvalidAction</Code>" in body


def test_scenario_policy_versions_share_one_creation_instant(start):
    """`version_ids`: versions v8..v12 created in the same second, v12 the default; a sixth
    version is refused (moto's limit) and the next one is v13."""
    iam = start({"account_id": ACCOUNT, "policies": [
        {"name": "role-app", "path": "/iamsweep/", "created_days_ago": 3,
         "version_ids": ["v8", "v9", "v10", "v11", "v12"]}]}).client("iam")
    policy_arn = arn("policy", "role-app", "/iamsweep/")
    versions = iam.list_policy_versions(PolicyArn=policy_arn)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v10", "v11", "v12", "v8", "v9"]
    assert {v["CreateDate"] for v in versions} == {versions[0]["CreateDate"]}
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v12"]
    assert iam.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"] == "v12"
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    with pytest.raises(ClientError) as excinfo:
        iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=document)
    assert code(excinfo) == "LimitExceeded"
    iam.delete_policy_version(PolicyArn=policy_arn, VersionId="v8")
    created = iam.create_policy_version(PolicyArn=policy_arn, PolicyDocument=document,
                                        SetAsDefault=True)
    assert created["PolicyVersion"]["VersionId"] == "v13"
