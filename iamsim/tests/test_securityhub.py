"""Security Hub as AWS behaves where moto 5.2.1 does not: filters, paging, the 100-finding
limit, required fields, in-place updates that keep the customer's fields, BatchUpdateFindings,
and --record naming REST-JSON calls."""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from conftest import ACCOUNT

PRODUCT = f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"


def finding(name: str, **fields) -> dict:
    base = {
        "SchemaVersion": "2018-10-08",
        "Id": f"iamsweep/aws/{ACCOUNT}/arn:aws:iam::{ACCOUNT}:user/{name}",
        "ProductArn": PRODUCT,
        "GeneratorId": "iamsweep/unused-access",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
        "CreatedAt": "2026-11-01T00:00:00Z",
        "FirstObservedAt": "2026-11-01T00:00:00Z",
        "UpdatedAt": "2026-11-01T00:00:00Z",
        "Severity": {"Label": "HIGH"},
        "Title": f"user {name} has unused services",
        "Description": "unused: kms",
        "Compliance": {"Status": "FAILED"},
        "Resources": [{"Type": "AwsIamUser", "Id": f"arn:aws:iam::{ACCOUNT}:user/{name}"}],
    }
    base.update(fields)
    return base


@pytest.fixture(scope="module")
def hub(start, tmp_path_factory):
    record = tmp_path_factory.mktemp("record") / "calls.jsonl"
    refused = f"arn:aws:iam::{ACCOUNT}:user/refused"
    server = start({"account_id": ACCOUNT, "security_hub": {"refuse_resources": [refused]}},
                   "--record", str(record))
    server.record = record
    return server


def all_findings(client, filters) -> list[dict]:
    out, token = [], None
    while True:
        kwargs = {"Filters": filters, "MaxResults": 2}
        if token:
            kwargs["NextToken"] = token
        page = client.get_findings(**kwargs)
        out += page["Findings"]
        token = page.get("NextToken")
        if not token:
            return out


def test_filters_and_paging(hub):
    sh = hub.client("securityhub")
    names = [f"filter-{i}" for i in range(5)]
    r = sh.batch_import_findings(Findings=[finding(n) for n in names]
                                 + [finding("other", GeneratorId="someone-else")])
    assert r["SuccessCount"] == 6 and r["FailedCount"] == 0
    mine = {"GeneratorId": [{"Value": "iamsweep/unused-access", "Comparison": "EQUALS"}],
            "Id": [{"Value": f"iamsweep/aws/{ACCOUNT}/arn:aws:iam::{ACCOUNT}:user/filter-",
                    "Comparison": "PREFIX"}]}
    got = all_findings(sh, mine)
    assert sorted(f["Title"] for f in got) == sorted(f"user {n} has unused services" for n in names)
    not_one = dict(mine, ResourceId=[{"Value": f"arn:aws:iam::{ACCOUNT}:user/filter-0",
                                      "Comparison": "NOT_EQUALS"}])
    assert len(all_findings(sh, not_one)) == 4
    # Several EQUALS of one key: any of them.
    either = {"ResourceId": [{"Value": f"arn:aws:iam::{ACCOUNT}:user/filter-1", "Comparison": "EQUALS"},
                             {"Value": f"arn:aws:iam::{ACCOUNT}:user/filter-2", "Comparison": "EQUALS"}]}
    assert len(all_findings(sh, either)) == 2
    with pytest.raises(botocore.exceptions.ClientError) as error:
        sh.get_findings(Filters={"NoteText": [{"Value": "x", "Comparison": "EQUALS"}]})
    assert error.value.response["Error"]["Code"] == "InvalidInputException"


def test_at_most_100_findings_a_call_and_required_fields(hub):
    sh = hub.client("securityhub")
    with pytest.raises(botocore.exceptions.ClientError) as error:
        sh.batch_import_findings(Findings=[finding(f"many-{i}") for i in range(101)])
    assert error.value.response["Error"]["Code"] == "InvalidInputException"
    incomplete = finding("incomplete")
    del incomplete["Severity"]
    foreign = finding("foreign", ProductArn="arn:aws:securityhub:us-east-1:999999999999:product/999999999999/default")
    other_account = finding("other-account", AwsAccountId="999999999999")
    r = sh.batch_import_findings(Findings=[incomplete, foreign, finding("fine"), other_account,
                                           finding("refused")])
    assert r["SuccessCount"] == 1 and r["FailedCount"] == 4
    failed = {f["Id"]: f for f in r["FailedFindings"]}
    assert "Severity" in failed[incomplete["Id"]]["ErrorMessage"]
    assert foreign["Id"] in failed
    assert "AwsAccountId" in failed[other_account["Id"]]["ErrorMessage"]
    assert "refused by the scenario" in failed[finding("refused")["Id"]]["ErrorMessage"]
    ids = {f["Id"] for f in all_findings(sh, {"Id": [{"Value": finding("fine")["Id"], "Comparison": "EQUALS"}]})}
    assert ids == {finding("fine")["Id"]}


def test_reimport_replaces_in_place_but_keeps_the_customers_fields(hub):
    sh = hub.client("securityhub")
    first = finding("triaged", UserDefinedFields={"provider": "x"})
    sh.batch_import_findings(Findings=[first])
    by_id = {"Id": [{"Value": first["Id"], "Comparison": "EQUALS"}]}
    (stored,) = all_findings(sh, by_id)
    assert stored["Workflow"]["Status"] == "NEW" and stored["RecordState"] == "ACTIVE"
    r = sh.batch_update_findings(
        FindingIdentifiers=[{"Id": first["Id"], "ProductArn": PRODUCT},
                            {"Id": "missing", "ProductArn": PRODUCT}],
        Workflow={"Status": "SUPPRESSED"}, Note={"Text": "accepted risk", "UpdatedBy": "alice"},
        Severity={"Label": "LOW"})
    assert [p["Id"] for p in r["ProcessedFindings"]] == [first["Id"]]
    assert r["UnprocessedFindings"][0]["ErrorCode"] == "FindingNotFound"
    # The provider re-imports: new content, its own Workflow and Note, no FirstObservedAt.
    again = finding("triaged", Description="unused: kms, sts", Severity={"Label": "CRITICAL"},
                    Workflow={"Status": "NEW"},
                    Note={"Text": "provider", "UpdatedBy": "p", "UpdatedAt": "2026-11-02T00:00:00Z"},
                    UpdatedAt="2026-11-02T00:00:00Z")
    del again["FirstObservedAt"]
    sh.batch_import_findings(Findings=[again])
    (stored,) = all_findings(sh, by_id)
    assert stored["Description"] == "unused: kms, sts"
    assert "FirstObservedAt" not in stored, "a re-import replaces the finding, it does not merge"
    assert stored["Workflow"]["Status"] == "SUPPRESSED"
    assert stored["Note"]["Text"] == "accepted risk"
    assert stored["Severity"]["Label"] == "LOW", "the customer changed it: the import does not"
    assert stored["UserDefinedFields"] == {"provider": "x"}
    assert "_iamsim_customer_updated" not in stored
    archived = finding("triaged", RecordState="ARCHIVED", Compliance={"Status": "PASSED"})
    sh.batch_import_findings(Findings=[archived])
    (stored,) = all_findings(sh, by_id)
    assert stored["RecordState"] == "ARCHIVED" and stored["Workflow"]["Status"] == "SUPPRESSED"
    active = all_findings(sh, dict(by_id, RecordState=[{"Value": "ACTIVE", "Comparison": "EQUALS"}]))
    assert active == []


def test_record_names_security_hub_calls(hub):
    sh = hub.client("securityhub")
    sh.batch_import_findings(Findings=[finding("recorded")])
    sh.get_findings(MaxResults=1)
    sh.batch_update_findings(FindingIdentifiers=[{"Id": finding("recorded")["Id"], "ProductArn": PRODUCT}],
                             Workflow={"Status": "NOTIFIED"})
    lines = [json.loads(line) for line in hub.record.read_text().splitlines()]
    calls = [(line["service"], line["action"]) for line in lines if line["service"] == "securityhub"]
    for action in ("BatchImportFindings", "GetFindings", "BatchUpdateFindings"):
        assert ("securityhub", action) in calls, calls
    assert all(action for _, action in calls), calls
    imported = next(line for line in lines if line["action"] == "BatchImportFindings")
    assert imported["params"]["Findings"][0]["ProductArn"] == PRODUCT
