"""Access Advisor actions against AWS semantics (AWS_FACTS.md)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, all_services, arn

ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

SCENARIO = {
    "account_id": ACCOUNT,
    "policies": [
        {"name": "Wild", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:Describe*", "iam:Get*", "s3:GetObject"], "Resource": "*"},
            {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*"}]}},
        {"name": "NotIam", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]}},
        {"name": "S3Only", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
        {"name": "Boundary", "document": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}},
    ],
    "groups": [{"name": "team", "managed_policies": ["S3Only"],
                "inline_policies": {"team-sqs": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]}}}],
    "users": [
        {"name": "root-like", "managed_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"],
         "activity": {"s3": {"days_ago": 1}, "ec2": {"days_ago": 399}, "lambda": {"days_ago": 401}}},
        {"name": "wild", "managed_policies": ["Wild"], "permissions_boundary": "Boundary",
         "activity": {"ec2": {"days_ago": 2, "region": "eu-west-1",
                              "actions": {"DescribeInstances": 2, "RunInstances": 3}},
                      "dynamodb": {"days_ago": 1}, "kms": {"days_ago": 1},
                      "s3": {"days_ago": 5, "actions": {"GetObject": 5}}}},
        {"name": "m1", "groups": ["team"], "activity": {"s3": {"days_ago": 10}, "sqs": {"days_ago": 3}}},
        {"name": "m2", "groups": ["team"], "activity": {"s3": {"days_ago": 4}, "sqs": {"days_ago": 500}}},
        {"name": "m3", "groups": ["team"]},
    ],
    "roles": [
        {"name": "not-iam", "managed_policies": ["NotIam"], "activity": {"s3": {"days_ago": 1}}},
        {"name": "inline", "inline_policies": {"all": ADMIN_POLICY}},
    ],
}


@pytest.fixture(scope="module")
def server(start):
    return start(SCENARIO)


@pytest.fixture(scope="module")
def iam(server):
    return server.client("iam")


def report(iam, entity_arn, granularity="SERVICE_LEVEL") -> dict[str, dict]:
    job = iam.generate_service_last_accessed_details(Arn=entity_arn, Granularity=granularity)["JobId"]
    return {s["ServiceNamespace"]: s for page in all_services(iam, job, 1000) for s in page}


def test_admin_paging_covers_every_granted_service_once(iam):
    job = iam.generate_service_last_accessed_details(Arn=arn("user", "root-like"))["JobId"]
    pages = all_services(iam, job, 100)
    names = [s["ServiceNamespace"] for page in pages for s in page]
    assert len(names) > 300
    assert len(pages) == -(-len(names) // 100)
    assert all(len(p) == 100 for p in pages[:-1])
    assert len(set(names)) == len(names)
    assert set(names) == set(report(iam, arn("user", "root-like")))
    by_ns = {s["ServiceNamespace"]: s for page in pages for s in page}
    assert by_ns["s3"]["ServiceName"] == "Amazon S3"
    assert by_ns["ec2"]["ServiceName"] == "Amazon EC2"
    assert by_ns["iam"]["ServiceName"] == "AWS Identity and Access Management"


def test_max_items_bounds(iam):
    job = iam.generate_service_last_accessed_details(Arn=arn("user", "root-like"))["JobId"]
    for bad in (1001, 5000):  # boto3 itself refuses values below 1
        with pytest.raises(ClientError) as e:
            iam.get_service_last_accessed_details(JobId=job, MaxItems=bad)
        assert e.value.response["Error"]["Code"] == "ValidationError"
    assert len(iam.get_service_last_accessed_details(JobId=job, MaxItems=1000)["ServicesLastAccessed"]) > 300


def test_tracking_period_and_fields(iam):
    r = report(iam, arn("user", "root-like"))
    now = datetime.now(timezone.utc)
    s3 = r["s3"]
    assert s3["TotalAuthenticatedEntities"] == 1
    assert s3["LastAuthenticatedEntity"] == arn("user", "root-like")
    assert s3["LastAuthenticatedRegion"] == "us-east-1"
    assert abs(now - s3["LastAuthenticated"] - timedelta(days=1)) < timedelta(hours=1)
    assert "LastAuthenticated" in r["ec2"]  # 399 days: inside the 400-day period
    assert "LastAuthenticated" not in r["lambda"]  # 401 days: reported as not used
    assert r["lambda"]["TotalAuthenticatedEntities"] == 0
    assert "TrackedActionsLastAccessed" not in r["ec2"]  # SERVICE_LEVEL


def test_wildcards_and_deny_and_ungranted_activity(iam):
    r = report(iam, arn("user", "wild"))
    # ec2:Describe*, iam:Get*, s3:GetObject; Deny does not remove dynamodb (never allowed
    # anyway); kms is only in the boundary, which Access Advisor ignores.
    assert set(r) == {"ec2", "iam", "s3"}


def test_not_action_resolution(iam):
    r = report(iam, arn("role", "not-iam"))
    assert "iam" not in r and "organizations" not in r
    assert {"s3", "ec2", "lambda", "sts"} <= set(r)
    assert len(r) > 300
    assert r["s3"]["TotalAuthenticatedEntities"] == 1


def test_inline_star_grants_everything(iam):
    assert len(report(iam, arn("role", "inline"))) > 300


def test_action_level_tracked_actions(iam):
    r = report(iam, arn("user", "wild"), "ACTION_LEVEL")
    ec2 = {a["ActionName"]: a for a in r["ec2"]["TrackedActionsLastAccessed"]}
    assert set(ec2) and all(name.startswith("Describe") for name in ec2)
    assert ec2["DescribeInstances"]["LastAccessedEntity"] == arn("user", "wild")
    assert ec2["DescribeInstances"]["LastAccessedRegion"] == "eu-west-1"
    assert "LastAccessedTime" in ec2["DescribeInstances"]
    assert "LastAccessedTime" not in ec2["DescribeVolumes"]
    assert "RunInstances" not in ec2  # not granted
    iam_actions = {a["ActionName"] for a in r["iam"]["TrackedActionsLastAccessed"]}
    assert "GetRole" in iam_actions and "PassRole" not in iam_actions
    # s3:GetObject is a data event: never tracked, so S3 shows no action-level data here.
    assert "TrackedActionsLastAccessed" not in r["s3"]
    admin = report(iam, arn("user", "root-like"), "ACTION_LEVEL")
    s3_actions = {a["ActionName"] for a in admin["s3"]["TrackedActionsLastAccessed"]}
    assert "GetBucketPolicy" in s3_actions and "GetObject" not in s3_actions
    assert "TrackedActionsLastAccessed" not in admin["dynamodb"]


def test_group_report_and_entities(iam):
    group_arn = arn("group", "team")
    job = iam.generate_service_last_accessed_details(Arn=group_arn)["JobId"]
    r = {s["ServiceNamespace"]: s for s in iam.get_service_last_accessed_details(JobId=job)["ServicesLastAccessed"]}
    assert set(r) == {"s3", "sqs"}
    assert r["s3"]["TotalAuthenticatedEntities"] == 2
    assert r["s3"]["LastAuthenticatedEntity"] == arn("user", "m2")
    assert r["sqs"]["TotalAuthenticatedEntities"] == 1  # m2's use is older than 400 days
    ents = iam.get_service_last_accessed_details_with_entities(JobId=job, ServiceNamespace="s3")
    assert ents["JobStatus"] == "COMPLETED"
    rows = {e["EntityInfo"]["Name"]: e for e in ents["EntityDetailsList"]}
    assert set(rows) == {"m1", "m2", "m3"}
    assert rows["m1"]["EntityInfo"]["Type"] == "USER"
    assert rows["m1"]["EntityInfo"]["Arn"] == arn("user", "m1")
    assert "LastAuthenticated" in rows["m2"] and "LastAuthenticated" not in rows["m3"]
    first = iam.get_service_last_accessed_details_with_entities(
        JobId=job, ServiceNamespace="s3", MaxItems=2)
    assert first["IsTruncated"] and len(first["EntityDetailsList"]) == 2
    rest = iam.get_service_last_accessed_details_with_entities(
        JobId=job, ServiceNamespace="s3", MaxItems=2, Marker=first["Marker"])
    assert not rest["IsTruncated"] and len(rest["EntityDetailsList"]) == 1


def test_policy_report(iam):
    r = report(iam, arn("policy", "S3Only"))
    assert set(r) == {"s3"} and r["s3"]["TotalAuthenticatedEntities"] == 2


def test_unknown_job_and_bad_arn(iam):
    with pytest.raises(ClientError) as e:
        iam.get_service_last_accessed_details(JobId="00000000-0000-4000-8000-000000000000")
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        iam.generate_service_last_accessed_details(Arn=arn("user", "nobody"))
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"
    with pytest.raises(ClientError) as e:
        iam.generate_service_last_accessed_details(Arn="arn:aws:s3:::some-bucket-name")
    assert e.value.response["Error"]["Code"] == "InvalidInput"


def test_policies_granting_service_access(iam):
    r = iam.list_policies_granting_service_access(
        Arn=arn("user", "m1"), ServiceNamespaces=["s3", "sqs", "iam"])
    by_ns = {x["ServiceNamespace"]: x["Policies"] for x in r["PoliciesGrantingServiceAccess"]}
    assert by_ns["s3"] == [{"PolicyName": "S3Only", "PolicyType": "MANAGED",
                            "PolicyArn": arn("policy", "S3Only")}]
    assert by_ns["sqs"] == [{"PolicyName": "team-sqs", "PolicyType": "INLINE",
                             "EntityType": "GROUP", "EntityName": "team"}]
    assert by_ns["iam"] == []
    # Boundaries never count.
    r = iam.list_policies_granting_service_access(Arn=arn("user", "wild"), ServiceNamespaces=["kms"])
    assert r["PoliciesGrantingServiceAccess"][0]["Policies"] == []


def test_policies_granting_service_access_paging_and_limit(iam):
    namespaces = sorted(report(iam, arn("user", "root-like")))[:200]
    seen, marker = [], None
    while True:
        kwargs = {"Arn": arn("user", "root-like"), "ServiceNamespaces": namespaces}
        if marker:
            kwargs["Marker"] = marker
        r = iam.list_policies_granting_service_access(**kwargs)
        seen += [x["ServiceNamespace"] for x in r["PoliciesGrantingServiceAccess"]]
        if not r["IsTruncated"]:
            break
        marker = r["Marker"]
    assert seen == namespaces
    with pytest.raises(ClientError) as e:
        iam.list_policies_granting_service_access(
            Arn=arn("user", "root-like"), ServiceNamespaces=namespaces + ["extra"])
    assert e.value.response["Error"]["Code"] == "ValidationError"


def test_job_latency(start):
    slow = start(SCENARIO, "--job-latency-ms", "60000").client("iam")
    job = slow.generate_service_last_accessed_details(Arn=arn("user", "m1"))["JobId"]
    r = slow.get_service_last_accessed_details(JobId=job)
    assert r["JobStatus"] == "IN_PROGRESS"
    assert r["ServicesLastAccessed"] == []
    assert "JobCompletionDate" not in r


def test_failed_jobs(start):
    failing = start(SCENARIO, "--fail-jobs", "100").client("iam")
    job = failing.generate_service_last_accessed_details(Arn=arn("user", "m1"))["JobId"]
    r = failing.get_service_last_accessed_details(JobId=job)
    assert r["JobStatus"] == "FAILED"
    assert r["Error"]["Code"] and r["Error"]["Message"]
    assert "JobCompletionDate" in r
