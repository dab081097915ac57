"""Throttling, injected errors, the call record, the clock offset and the generator."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import EXAMPLE, ROOT, all_services, arn


def outcomes(call, n: int) -> list[str]:
    out = []
    for _ in range(n):
        try:
            call()
            out.append("ok")
        except ClientError as e:
            out.append(e.response["Error"]["Code"])
            status = e.response["ResponseMetadata"]["HTTPStatusCode"]
            assert (e.response["Error"]["Code"], status) in {("Throttling", 400), ("ServiceFailure", 500)}
    return out


def test_throttling_and_record(start, tmp_path):
    record = tmp_path / "calls.jsonl"
    server = start(ROOT / "scenarios" / "example.json",
                   "--rate", "5", "--burst", "5", "--record", str(record))
    iam = server.client("iam")
    results = outcomes(lambda: iam.get_role(RoleName="app"), 20)
    assert "ok" in results and "Throttling" in results
    e = None
    try:
        while True:  # the message as AWS sends it
            iam.get_role(RoleName="app")
    except ClientError as err:
        e = err
    assert e.response["Error"]["Message"] == "Rate exceeded"
    server.client("sts").get_caller_identity()  # STS is not throttled
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    roles = [x for x in lines if x["action"] == "GetRole"]
    assert len(roles) >= 21
    assert all(x["service"] == "iam" and x["params"]["RoleName"] == "app" for x in roles)
    assert {x["status"] for x in roles} == {200, 400}
    assert sum(x["status"] == 400 for x in roles[:20]) == results.count("Throttling")
    assert lines[-1] == {"service": "sts", "action": "GetCallerIdentity", "params": {}, "status": 200,
                         "account": "123456789012"}


def test_record_params(start, tmp_path):
    record = tmp_path / "calls.jsonl"
    iam = start(ROOT / "scenarios" / "example.json", "--record", str(record)).client("iam")
    job = iam.generate_service_last_accessed_details(Arn=arn("user", "alice"))["JobId"]
    iam.get_service_last_accessed_details(JobId=job, MaxItems=10)
    iam.list_policies_granting_service_access(Arn=arn("user", "alice"), ServiceNamespaces=["s3", "sqs"])
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    assert [x["action"] for x in lines] == [
        "GenerateServiceLastAccessedDetails", "GetServiceLastAccessedDetails",
        "ListPoliciesGrantingServiceAccess"]
    assert lines[0]["params"] == {"Arn": arn("user", "alice")}
    assert lines[1]["params"] == {"JobId": job, "MaxItems": "10"}
    assert lines[2]["params"]["ServiceNamespaces"] == ["s3", "sqs"]


def test_each_account_has_its_own_token_bucket(start, tmp_path):
    """IAM throttles per account: one account out of tokens must not slow another down."""
    member = "210987654321"
    record = tmp_path / "calls.jsonl"
    scenario = {"account_id": "123456789012", "roles": [{"name": "app"}],
                "accounts": {member: {"roles": [{"name": "app"}]}}}
    server = start(scenario, "--rate", "1", "--burst", "5", "--record", str(record))
    home = server.client("iam")
    assert "Throttling" in outcomes(lambda: home.get_role(RoleName="app"), 20)
    creds = server.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/app", RoleSessionName="bucket")["Credentials"]
    other = server.client("iam", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                          token=creds["SessionToken"])
    # The member's bucket is untouched: its burst passes whole, then it runs dry in turn.
    assert outcomes(lambda: other.get_role(RoleName="app"), 5) == ["ok"] * 5
    assert "Throttling" in outcomes(lambda: other.get_role(RoleName="app"), 20)
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    accounts = [x["account"] for x in lines if x["action"] == "GetRole"]
    assert accounts == ["123456789012"] * 20 + [member] * 25
    assume = next(x for x in lines if x["action"] == "AssumeRole")
    assert assume["account"] == "123456789012"  # the caller's account, not the role's


def test_error_rate(start):
    iam = start(ROOT / "scenarios" / "example.json", "--error-rate", "50", "--seed", "7").client("iam")
    results = outcomes(lambda: iam.get_user(UserName="alice"), 30)
    assert "ok" in results and "ServiceFailure" in results


def test_clock_offset(start):
    iam = start(ROOT / "scenarios" / "example.json", "--clock-offset-days", "100").client("iam")
    created = iam.get_user(UserName="alice")["User"]["CreateDate"]  # created_days_ago 400
    expected = datetime.now(timezone.utc) + timedelta(days=100) - timedelta(days=400)
    assert abs(created - expected) < timedelta(hours=1)
    job = iam.generate_service_last_accessed_details(Arn=arn("user", "alice"))["JobId"]
    r = iam.get_service_last_accessed_details(JobId=job)
    assert abs(r["JobCreationDate"] - (datetime.now(timezone.utc) + timedelta(days=100))) < timedelta(hours=1)


def generate(*args: str) -> bytes:
    return subprocess.run([str(ROOT / "generate"), *args], check=True, capture_output=True).stdout


def test_generate_is_deterministic_and_loads(start):
    args = ("--users", "60", "--roles", "150", "--groups", "6", "--seed", "42")
    first, second = generate(*args), generate(*args)
    assert first == second
    assert generate("--users", "60", "--roles", "150", "--groups", "6", "--seed", "43") != first
    scenario = json.loads(first)
    assert len(scenario["users"]) == 60 and len(scenario["roles"]) == 150
    roles = scenario["roles"]
    assert any(r["path"].startswith("/aws-service-role/") for r in roles)
    assert any(r["created_days_ago"] < 30 for r in roles)
    assert any(r.get("permissions_boundary") for r in roles)
    days = [u["days_ago"] for r in roles + scenario["users"] for u in r.get("activity", {}).values()]
    assert any(d > 400 for d in days) and any(200 <= d < 400 for d in days)
    assert any("actions" in u for r in roles for u in r.get("activity", {}).values())
    iam = start(scenario).client("iam")
    assert len(list(iam.get_paginator("list_roles").paginate())) >= 2
    admins = [u["name"] for u in scenario["users"]
              if "arn:aws:iam::aws:policy/AdministratorAccess" in u.get("managed_policies", [])]
    job = iam.generate_service_last_accessed_details(Arn=arn("user", admins[0]))["JobId"]
    assert iam.get_service_last_accessed_details(JobId=job)["IsTruncated"]


def test_generate_an_organization(start):
    scenario = json.loads(generate("--accounts", "3", "--users", "2", "--roles", "4",
                                   "--groups", "1", "--seed", "5"))
    members = sorted(scenario["accounts"])
    assert members == ["200000000001", "200000000002"]
    assert [a["id"] for a in scenario["organization"]["accounts"]] == ["123456789012", *members]
    # Each member has its own entities (its own seed), like the management account.
    assert scenario["accounts"][members[0]]["users"] != scenario["accounts"][members[1]]["users"]
    server = start(scenario)
    listed = server.client("organizations").list_accounts()["Accounts"]
    assert sorted(a["Id"] for a in listed) == ["123456789012", *members]
    assert {a["State"] for a in listed} == {"ACTIVE"}
    for account in ["123456789012", *members]:
        creds = server.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole",
            RoleSessionName="generated")["Credentials"]
        iam = server.client("iam", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                            token=creds["SessionToken"])
        details = iam.get_account_authorization_details(Filter=["User", "Role", "Group"])
        entities = (details["UserDetailList"] + details["RoleDetailList"]
                    + details["GroupDetailList"])
        assert len(entities) == 2 + 4 + 1 + 1, account  # + OrganizationAccountAccessRole
        assert all(f":{account}:" in e["Arn"] for e in entities)


def test_page_size_caps_pages_whatever_max_items_asks(start):
    server = start(EXAMPLE, "--page-size", "50")
    iam = server.client("iam")
    job = iam.generate_service_last_accessed_details(Arn=arn("user", "admin"))["JobId"]
    pages = all_services(iam, job, max_items=1000)
    assert all(len(page) <= 50 for page in pages)
    assert len(pages) == -(-sum(len(page) for page in pages) // 50)


def test_job_error_fails_exactly_the_named_entity(start):
    scenario = {
        "account_id": "123456789012",
        "users": [{"name": "doomed", "job_error": "Report generation timed out."},
                  {"name": "fine"}],
    }
    iam = start(scenario).client("iam")
    doomed = iam.generate_service_last_accessed_details(Arn=arn("user", "doomed"))["JobId"]
    fine = iam.generate_service_last_accessed_details(Arn=arn("user", "fine"))["JobId"]
    failed = iam.get_service_last_accessed_details(JobId=doomed)
    assert failed["JobStatus"] == "FAILED"
    assert failed["Error"] == {"Message": "Report generation timed out.", "Code": "ServiceFailure"}
    assert iam.get_service_last_accessed_details(JobId=fine)["JobStatus"] == "COMPLETED"
