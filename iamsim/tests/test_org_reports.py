"""Organizations access reports, the OU tree, SCP limits, and POST /_iamsim/activity."""

from __future__ import annotations

import json
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, arn

WEB, PAY, DATA, SANDBOX = "210987654321", "333344445555", "444455556666", "555566667777"
LOOSE = "666677778888"
OTHERS = ["700000000001", "700000000002", "700000000003"]

SCENARIO = {
    "account_id": ACCOUNT,
    "users": [{"name": "ops", "activity": {"cloudtrail": {"days_ago": 2}}}],
    "roles": [{"name": "app", "managed_policies": ["arn:aws:iam::aws:policy/AdministratorAccess"],
               "activity": {}}],
    "accounts": {
        WEB: {"roles": [{"name": "web", "activity": {
            "s3": {"days_ago": 5, "region": "eu-west-1"}, "ec2": {"days_ago": 30}}}]},
        PAY: {"users": [{"name": "payer", "activity": {
            "dynamodb": {"days_ago": 1}, "s3": {"days_ago": 1}}}]},
    },
    "organization": {
        "accounts": [
            {"id": ACCOUNT, "name": "management"},
            {"id": WEB, "name": "web-prod", "joined_days_ago": 500},
            {"id": PAY, "name": "payments", "joined_days_ago": 300},
            {"id": DATA, "name": "data", "activity": {"athena": {"days_ago": 10},
                                                      "glue": {"days_ago": 450}}},
            {"id": SANDBOX, "name": "sandbox", "report_error": "boom"},
            {"id": LOOSE, "name": "loose", "activity": {"lambda": {"days_ago": 3}}},
            *[{"id": other, "name": f"other-{i}"} for i, other in enumerate(OTHERS)],
        ],
        "ous": [
            {"name": "prod", "accounts": [WEB],
             "ous": [{"name": "payments", "accounts": [PAY]}]},
            {"name": "analytics", "accounts": [DATA, *OTHERS]},
            {"name": "sandbox", "accounts": [SANDBOX], "report_error": "ou failed"},
        ],
    },
}


@pytest.fixture(scope="module")
def server(start):
    return start(SCENARIO)


@pytest.fixture(scope="module")
def tree(server):
    org = server.client("organizations")
    root = org.list_roots()["Roots"][0]
    org_id = org.describe_organization()["Organization"]["Id"]
    ous = {}

    def walk(parent, prefix):
        for ou in org.list_organizational_units_for_parent(ParentId=parent)[
                "OrganizationalUnits"]:
            path = f"{prefix}/{ou['Id']}"
            ous[ou["Name"]] = (ou["Id"], path)
            walk(ou["Id"], path)

    walk(root["Id"], f"{org_id}/{root['Id']}")
    return {"org": org_id, "root": root, "ous": ous, "root_path": f"{org_id}/{root['Id']}"}


def report(server, path, **kwargs):
    iam = server.client("iam")
    job = iam.generate_organizations_access_report(EntityPath=path, **kwargs)["JobId"]
    details, marker, first = [], None, None
    while True:
        args = {"JobId": job, "MaxItems": 50}
        if marker:
            args["Marker"] = marker
        page = iam.get_organizations_access_report(**args)
        first = first or page
        if page["JobStatus"] != "COMPLETED":
            return page, details
        details += page["AccessDetails"]
        if not page["IsTruncated"]:
            return first, details
        marker = page["Marker"]


def used(details):
    return {d["ServiceNamespace"]: d for d in details if "LastAuthenticatedTime" in d}


def test_the_tree_is_discoverable_and_scps_are_enabled(server, tree):
    org = server.client("organizations")
    assert set(tree["ous"]) == {"prod", "payments", "analytics", "sandbox"}
    prod_id, _ = tree["ous"]["prod"]
    pay_id, pay_path = tree["ous"]["payments"]
    assert pay_path == f"{tree['root_path']}/{prod_id}/{pay_id}"
    accounts = org.list_accounts_for_parent(ParentId=pay_id)["Accounts"]
    assert [a["Id"] for a in accounts] == [PAY]
    under_root = {a["Id"] for a in org.list_accounts_for_parent(
        ParentId=tree["root"]["Id"])["Accounts"]}
    assert under_root == {ACCOUNT, LOOSE}
    assert {"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"} in tree["root"]["PolicyTypes"]
    web = org.describe_account(AccountId=WEB)["Account"]
    pay = org.describe_account(AccountId=PAY)["Account"]
    assert web["JoinedTimestamp"] < pay["JoinedTimestamp"]


def test_an_ou_report_unions_its_accounts_nested_ones_included(server, tree):
    _, prod_path = tree["ous"]["prod"]
    head, details = report(server, prod_path)
    assert head["JobStatus"] == "COMPLETED"
    seen = used(details)
    assert set(seen) == {"s3", "ec2", "dynamodb"}
    assert seen["s3"]["TotalAuthenticatedEntities"] == 2
    assert seen["s3"]["EntityPath"].endswith(f"/{PAY}")  # the latest use
    assert seen["ec2"]["EntityPath"] == f"{prod_path}/{WEB}"
    assert seen["ec2"]["Region"] == "us-east-1"
    assert head["NumberOfServicesAccessible"] == len(details)
    assert head["NumberOfServicesNotAccessed"] == len(details) - len(seen)
    assert [d["ServiceNamespace"] for d in details] == sorted(d["ServiceNamespace"]
                                                              for d in details)


def test_the_root_report_covers_every_account_and_cuts_at_400_days(server, tree):
    _, details = report(server, tree["root_path"])
    seen = used(details)
    assert {"cloudtrail", "s3", "ec2", "dynamodb", "athena", "lambda"} <= set(seen)
    assert "glue" not in seen  # 450 days ago: beyond the tracking period


def test_an_account_report_and_a_bad_path(server, tree):
    _, analytics_path = tree["ous"]["analytics"]
    _, details = report(server, f"{analytics_path}/{DATA}")
    assert set(used(details)) == {"athena"}
    iam = server.client("iam")
    for bad in [f"{tree['root_path']}/{DATA}",  # DATA is not directly under the root
                "o-aaaaaaaaaa/r-abcd", tree["root_path"] + "/ou-zzzz-zzzzzzzz",
                "nonsense/nonsense/nonsense"]:
        with pytest.raises(ClientError) as e:
            iam.generate_organizations_access_report(EntityPath=bad)
        assert e.value.response["Error"]["Code"] == "InvalidInput"


def test_forced_failures(server, tree):
    _, sandbox_path = tree["ous"]["sandbox"]
    head, _ = report(server, sandbox_path)
    assert head["JobStatus"] == "FAILED"
    assert head["ErrorDetails"] == {"Message": "ou failed", "Code": "ServiceFailure"}
    head, _ = report(server, f"{sandbox_path}/{SANDBOX}")
    assert head["ErrorDetails"]["Message"] == "boom"


def test_paging_and_sorting(server, tree):
    iam = server.client("iam")
    job = iam.generate_organizations_access_report(EntityPath=tree["root_path"])["JobId"]
    page = iam.get_organizations_access_report(
        JobId=job, MaxItems=3, SortKey="LAST_AUTHENTICATED_TIME_DESCENDING")
    assert page["IsTruncated"] and len(page["AccessDetails"]) == 3
    times = [d["LastAuthenticatedTime"] for d in page["AccessDetails"]]
    assert times == sorted(times, reverse=True)
    with pytest.raises(ClientError) as e:
        iam.get_organizations_access_report(JobId=job, MaxItems=1001)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError) as e:
        iam.get_organizations_access_report(JobId="00000000-0000-4000-8000-000000000000")
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"


def test_scps_in_force_narrow_the_report_and_their_limits_hold(server, tree):
    org = server.client("organizations")
    data_id, data_path = tree["ous"]["analytics"]
    deny = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "NotAction": ["athena:*", "sts:*"], "Resource": "*"}]}
    policy = org.create_policy(Name="deny-most", Description="", Type="SERVICE_CONTROL_POLICY",
                               Content=json.dumps(deny))["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy, TargetId=data_id)
    _, details = report(server, data_path)
    assert {d["ServiceNamespace"] for d in details} == {"athena", "sts"}
    _, details = report(server, tree["root_path"], OrganizationsPolicyId=policy)
    assert {d["ServiceNamespace"] for d in details} == set()  # a Deny alone allows nothing
    # Five SCPs a target at most (FullAWSAccess and deny-most are two).
    for i in range(3):
        extra = org.create_policy(Name=f"extra-{i}", Description="", Type="SERVICE_CONTROL_POLICY",
                                  Content=json.dumps(deny))["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=extra, TargetId=data_id)
    sixth = org.create_policy(Name="sixth", Description="", Type="SERVICE_CONTROL_POLICY",
                              Content=json.dumps(deny))["Policy"]["PolicySummary"]["Id"]
    with pytest.raises(ClientError) as e:
        org.attach_policy(PolicyId=sixth, TargetId=data_id)
    assert e.value.response["Error"]["Code"] == "ConstraintViolationException"
    assert e.value.response["Reason"] == "POLICY_NUMBER_LIMIT_EXCEEDED"
    big = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": [f"s{i}:*" for i in range(1000)], "Resource": "*"}]}
    with pytest.raises(ClientError) as e:
        org.create_policy(Name="big", Description="", Type="SERVICE_CONTROL_POLICY",
                          Content=json.dumps(big))
    assert e.value.response["Reason"] == "POLICY_CONTENT_LIMIT_EXCEEDED"


def test_only_the_management_account_may_ask(server, tree):
    creds = server.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{WEB}:role/OrganizationAccountAccessRole",
        RoleSessionName="test")["Credentials"]
    member = server.client("iam", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                           token=creds["SessionToken"])
    with pytest.raises(ClientError) as e:
        member.generate_organizations_access_report(EntityPath=tree["root_path"])
    assert e.value.response["Error"]["Code"] == "InvalidInput"


def post(server, body) -> tuple[int, dict]:
    request = urllib.request.Request(server.url + "/_iamsim/activity", method="POST",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_activity_posted_now_shows_in_access_advisor_and_role_last_used(start, tmp_path):
    record = tmp_path / "calls.jsonl"
    server = start(SCENARIO, "--record", str(record))
    iam = server.client("iam")
    role = arn("role", "app")
    status, body = post(server, {"arn": role, "service": "dynamodb", "days_ago": 0,
                                 "actions": {"GetItem": 0}})
    assert status == 200, body
    job = iam.generate_service_last_accessed_details(Arn=role)["JobId"]
    services = {s["ServiceNamespace"]: s for s in iam.get_service_last_accessed_details(
        JobId=job, MaxItems=1000)["ServicesLastAccessed"]}
    assert "LastAuthenticated" in services["dynamodb"]
    assert "LastAuthenticated" not in services["kinesis"]
    last = iam.get_role(RoleName="app")["Role"]["RoleLastUsed"]["LastUsedDate"]
    assert last == services["dynamodb"]["LastAuthenticated"]
    # An account's access report follows: the management account used dynamodb now.
    status, _ = post(server, {"arn": arn("user", "ops"), "service": "kinesis", "days_ago": 1})
    assert status == 200
    assert not any("_iamsim" in line for line in record.read_text().splitlines())


@pytest.mark.parametrize("body, status, field", [
    ({"arn": "arn:aws:iam::123456789012:role/nosuch", "service": "s3"}, 404, "arn"),
    ({"arn": "not an arn", "service": "s3"}, 400, "arn"),
    ({"arn": "arn:aws:iam::123456789012:role/app", "service": "S3!"}, 400, "service"),
    ({"arn": "arn:aws:iam::123456789012:role/app", "service": "nosuchsvc"}, 400, "service"),
    ({"arn": "arn:aws:iam::123456789012:role/app", "service": "s3", "days_ago": -1}, 400,
     "days_ago"),
    ({"arn": "arn:aws:iam::123456789012:role/app", "service": "s3", "days_ago": "0"}, 400,
     "days_ago"),
    ({"arn": "arn:aws:iam::123456789012:role/app", "service": "s3", "actions": []}, 400,
     "actions"),
    ({"arn": "arn:aws:iam::123456789012:role/app", "service": "s3", "extra": 1}, 400, "extra"),
    ([], 400, "body"),
])
def test_activity_refuses_bad_bodies_naming_the_field(server, body, status, field):
    got, answer = post(server, body)
    assert got == status
    assert answer["error"].startswith(field)
