"""iamsweep's findings formats, validated by code the project did not write.

The findings are the demo snapshot's, as pinned by the insta snapshots of
crates/core/tests/it/findings.rs (the Rust tests prove those are what `--format asff|ocsf`
writes). ASFF: botocore validates the request against Security Hub's service model before it is
sent (unknown or missing members, wrong types), then moto's Security Hub parses and stores it and
GetFindings returns it. OCSF: pydantic-ocsf (pinned in requirements.txt) builds its models from
the official OCSF schema exports and validates every Detection Finding; a walk over the
validated models refuses any attribute the schema does not define.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "crates" / "core" / "tests" / "it" / "snapshots"


def insta(name: str):
    """The JSON body of an insta snapshot file (after its `---` header)."""
    text = (SNAPSHOTS / f"it__findings__{name}.snap").read_text()
    _, _, body = text.split("---\n", 2)
    return json.loads(body)


# ASFF through botocore's model and moto's Security Hub.

def test_security_hub_imports_the_asff_body_and_returns_every_finding(start):
    body = insta("demo_asff")
    findings = body["Findings"]
    assert len(findings) == 8
    hub = start().client("securityhub", region_name="eu-west-1")
    answer = hub.batch_import_findings(**body)
    assert answer["FailedCount"] == 0, answer["FailedFindings"]
    assert answer["SuccessCount"] == len(findings)
    stored = hub.get_findings(MaxResults=100)["Findings"]
    by_id = {finding["Id"]: finding for finding in stored}
    assert set(by_id) == {finding["Id"] for finding in findings}
    for sent in findings:
        got = by_id[sent["Id"]]
        for field in ("ProductArn", "GeneratorId", "AwsAccountId", "Title", "Description",
                      "Severity", "Compliance", "RecordState", "Resources", "ProductFields"):
            assert got[field] == sent[field], (sent["Id"], field)


def test_botocore_refuses_a_finding_outside_the_model(start):
    from botocore.exceptions import ParamValidationError

    body = insta("demo_asff")
    hub = start().client("securityhub", region_name="eu-west-1")
    unknown = json.loads(json.dumps(body))
    unknown["Findings"][0]["Resources"][0]["Details"]["AwsIamUser"]["Nickname"] = "x"
    with pytest.raises(ParamValidationError):
        hub.batch_import_findings(**unknown)
    missing = json.loads(json.dumps(body))
    del missing["Findings"][0]["GeneratorId"]
    with pytest.raises(ParamValidationError):
        hub.batch_import_findings(**missing)


# OCSF against the official schema, through pydantic-ocsf.

def unknown_attributes(model: BaseModel, path: str = "") -> list[str]:
    """Every attribute of `model`, at any depth, that its OCSF class or object does not define
    (pydantic-ocsf keeps them as extras rather than refusing them)."""
    found = [f"{path}.{key}".lstrip(".") for key in (model.model_extra or {})]
    for name in type(model).model_fields:
        found += unknown_in(getattr(model, name), f"{path}.{name}")
    return found


def unknown_in(value, path: str) -> list[str]:
    if isinstance(value, BaseModel):
        return unknown_attributes(value, path)
    if isinstance(value, list):
        return [item for index, element in enumerate(value)
                for item in unknown_in(element, f"{path}[{index}]")]
    return []


def validate_detection_finding(event: dict):
    from ocsf.v1_5_0.events import DetectionFinding
    from ocsf.v1_5_0.objects import Cloud

    event = dict(event)
    # The `cloud` profile's attribute: declared in metadata.profiles, validated as its object.
    assert "cloud" in event["metadata"]["profiles"]
    cloud = Cloud.model_validate(event.pop("cloud"))
    finding = DetectionFinding.model_validate(event)
    # `resources[].data` and `unmapped` are free-form JSON by the schema.
    extras = [path for path in unknown_attributes(finding) + unknown_attributes(cloud, "cloud")
              if not path.startswith("resources[0].data")]
    assert extras == [], extras
    return finding


def test_every_ocsf_finding_is_a_valid_detection_finding():
    events = insta("demo_ocsf")
    assert len(events) == 8
    for event in events:
        finding = validate_detection_finding(event)
        assert finding.class_uid == 2004
        assert finding.category_uid == 2
        assert finding.metadata.version == "1.5.0"
        assert finding.finding_info.uid.startswith("iamsweep/aws/123456789012/arn:aws:iam::")
    severities = {event["finding_info"]["uid"].rsplit("/", 1)[1]: event["severity"]
                  for event in events}
    assert severities["admin"] == "Critical"
    assert severities["app"] == "Informational"


def test_the_validator_refuses_what_the_schema_does_not_define():
    from pydantic import ValidationError

    event = insta("demo_ocsf")[0]
    wrong_type = json.loads(json.dumps(event))
    wrong_type["severity_id"] = "very"
    with pytest.raises(ValidationError):
        validate_detection_finding(wrong_type)
    missing = json.loads(json.dumps(event))
    del missing["finding_info"]["uid"]
    with pytest.raises(ValidationError):
        validate_detection_finding(missing)
    unknown = json.loads(json.dumps(event))
    unknown["finding_info"]["score"] = 3
    with pytest.raises(AssertionError):
        validate_detection_finding(unknown)
