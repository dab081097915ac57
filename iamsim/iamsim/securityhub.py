"""Security Hub as AWS behaves, where moto 5.2.1 does not.

moto serves `BatchImportFindings` and `GetFindings`, but:

- `GetFindings` ignores `Filters` (every finding of every product comes back) and pages with
  moto's generic tokens: here the string filters iamsweep and people use are applied (`Id`,
  `ProductArn`, `GeneratorId`, `AwsAccountId`, `RecordState`, `ComplianceStatus`,
  `WorkflowStatus`, `SeverityLabel`, `ResourceId`, `ResourceType`, `Title`), as AWS combines
  them (several `EQUALS`/`PREFIX` values of one key: any; `NOT_EQUALS`/`PREFIX_NOT_EQUALS`: all;
  keys: all), and a filter key iamsim does not know is refused rather than ignored;
- `BatchImportFindings` accepts more than 100 findings and findings without the required ASFF
  fields, and a re-import merges into the stored finding (so a field left out survives): AWS
  refuses a call of more than 100 findings, fails each finding missing a required field or
  carrying another account's product ARN (`FailedFindings`), sets `Workflow`/`RecordState` on
  creation, and on re-import of the same `Id` and `ProductArn` replaces the finding in place
  except the fields that belong to the customer once a finding exists (`Note`,
  `UserDefinedFields`, `VerificationState`, `Workflow`) and those the customer changed with
  `BatchUpdateFindings` (`Confidence`, `Criticality`, `Severity`, `Types`, `RelatedFindings`);
- `BatchUpdateFindings` (`PATCH /findings/batchupdate`, the customer's call) is missing.

See https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchimportfindings.html
"""

from __future__ import annotations

import datetime
import json
import threading

from moto.securityhub import urls as securityhub_urls
from moto.securityhub.exceptions import InvalidInputException
from moto.securityhub.models import Finding, SecurityHubBackend
from moto.securityhub.responses import SecurityHubResponse

MAX_IMPORT = 100
MAX_RESULTS = 100
REQUIRED = ("SchemaVersion", "Id", "ProductArn", "GeneratorId", "AwsAccountId", "CreatedAt",
            "UpdatedAt", "Title", "Description", "Resources", "Severity", "Types")
# Never changed by a provider's re-import once the finding exists.
CUSTOMER_FIELDS = ("Note", "UserDefinedFields", "VerificationState", "Workflow")
# Changed by BatchUpdateFindings; from then on a provider's import does not change them.
CUSTOMER_UPDATABLE = ("Confidence", "Criticality", "Severity", "Types", "RelatedFindings")

# Filter key -> how to read the finding's values for it.
FILTER_KEYS = {
    "Id": lambda f: [f.get("Id")],
    "ProductArn": lambda f: [f.get("ProductArn")],
    "GeneratorId": lambda f: [f.get("GeneratorId")],
    "AwsAccountId": lambda f: [f.get("AwsAccountId")],
    "RecordState": lambda f: [f.get("RecordState")],
    "ComplianceStatus": lambda f: [(f.get("Compliance") or {}).get("Status")],
    "WorkflowStatus": lambda f: [(f.get("Workflow") or {}).get("Status")],
    "SeverityLabel": lambda f: [(f.get("Severity") or {}).get("Label")],
    "ResourceId": lambda f: [r.get("Id") for r in f.get("Resources") or []],
    "ResourceType": lambda f: [r.get("Type") for r in f.get("Resources") or []],
    "Title": lambda f: [f.get("Title")],
}
POSITIVE = {"EQUALS", "PREFIX", "CONTAINS"}
NEGATIVE = {"NOT_EQUALS", "PREFIX_NOT_EQUALS", "NOT_CONTAINS"}

_LOCK = threading.Lock()


def _now() -> str:
    from . import clock

    return clock.now().astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _test(comparison: str, value, wanted: str) -> bool:
    value = "" if value is None else str(value)
    if comparison in ("EQUALS", "NOT_EQUALS"):
        hit = value == wanted
    elif comparison in ("PREFIX", "PREFIX_NOT_EQUALS"):
        hit = value.startswith(wanted)
    else:
        hit = wanted in value
    return hit if comparison in POSITIVE else not hit


def matches(finding: dict, filters: dict | None) -> bool:
    for key, conditions in (filters or {}).items():
        if key not in FILTER_KEYS:
            raise InvalidInputException(
                op="GetFindings", msg=f"iamsim does not implement the filter `{key}`")
        values = FILTER_KEYS[key](finding) or [None]
        positive = [c for c in conditions if c.get("Comparison") in POSITIVE]
        negative = [c for c in conditions if c.get("Comparison") in NEGATIVE]
        unknown = [c for c in conditions if c.get("Comparison") not in POSITIVE | NEGATIVE]
        if unknown:
            raise InvalidInputException(
                op="GetFindings", msg=f"unknown Comparison in filter `{key}`: {unknown[0]}")
        if positive and not any(_test(c["Comparison"], v, c.get("Value", ""))
                                for c in positive for v in values):
            return False
        if not all(_test(c["Comparison"], v, c.get("Value", ""))
                   for c in negative for v in values):
            return False
    return True


def get_findings(self, filters=None, sort_criteria=None, max_results=None, next_token=None):
    if max_results is None:
        max_results = MAX_RESULTS
    max_results = int(max_results)
    if not 1 <= max_results <= MAX_RESULTS:
        raise InvalidInputException(op="GetFindings",
                                    msg="MaxResults must be a number between 1 and 100")
    start = 0
    if next_token:
        try:
            start = int(next_token)
        except ValueError:
            raise InvalidInputException(op="GetFindings", msg="Invalid NextToken")
    with _LOCK:
        hits = [f.as_dict() for f in self.findings if matches(f.data, filters)]
    page = hits[start:start + max_results]
    token = str(start + max_results) if start + max_results < len(hits) else None
    return json.loads(json.dumps(page)), token


def _refusal(finding: dict, backend: SecurityHubBackend) -> str | None:
    missing = [name for name in REQUIRED if name not in finding]
    if missing:
        return f"missing required field(s): {', '.join(missing)}"
    if not isinstance(finding["Resources"], list) or not finding["Resources"]:
        return "Finding must contain at least one resource in the Resources array"
    from .settings import current

    for resource in finding["Resources"]:
        if isinstance(resource, dict) and resource.get("Id") in current.refuse_finding_resources:
            return f"refused by the scenario: {resource.get('Id')}"
    if finding["AwsAccountId"] != backend.account_id:
        return (f"AwsAccountId {finding['AwsAccountId']} is not the caller's account "
                f"{backend.account_id}")
    product = finding["ProductArn"]
    parts = str(product).split(":")
    if len(parts) < 6 or parts[2] != "securityhub" or parts[3] != backend.region_name \
            or parts[4] != backend.account_id:
        return (f"ProductArn `{product}` is not a product of account {backend.account_id} in "
                f"{backend.region_name}")
    return None


def batch_import_findings(self, findings):
    if len(findings) > MAX_IMPORT:
        raise InvalidInputException(
            op="BatchImportFindings",
            msg=f"Findings: at most {MAX_IMPORT} findings a call, found {len(findings)}")
    failed = []
    success = 0
    now = _now()
    with _LOCK:
        for incoming in findings:
            if not isinstance(incoming, dict):
                failed.append({"Id": "", "ErrorCode": "InvalidInput",
                               "ErrorMessage": "a finding must be an object"})
                continue
            refusal = _refusal(incoming, self)
            if refusal:
                failed.append({"Id": incoming.get("Id", ""), "ErrorCode": "InvalidInput",
                               "ErrorMessage": refusal})
                continue
            data = json.loads(json.dumps(incoming))
            existing = next((f for f in self.findings if f.id == data["Id"]
                             and f.data.get("ProductArn") == data["ProductArn"]), None)
            data["ProcessedAt"] = now
            data["Region"] = self.region_name
            data.setdefault("RecordState", "ACTIVE")
            if existing is None:
                data.setdefault("Workflow", {"Status": "NEW"})
                data["WorkflowState"] = data["Workflow"].get("Status", "NEW")
                self.findings.append(Finding(data["Id"], data))
            else:
                old = existing.data
                for name in CUSTOMER_FIELDS + ("WorkflowState",):
                    data.pop(name, None)
                    if name in old:
                        data[name] = old[name]
                for name in old.get("_iamsim_customer_updated", []):
                    if name in old:
                        data[name] = old[name]
                    else:
                        data.pop(name, None)
                if "_iamsim_customer_updated" in old:
                    data["_iamsim_customer_updated"] = old["_iamsim_customer_updated"]
                existing.data = data
            success += 1
    return len(failed), success, failed


def batch_update_findings(self, identifiers, updates):
    processed, unprocessed = [], []
    now = _now()
    with _LOCK:
        for identifier in identifiers or []:
            finding = next((f for f in self.findings if f.id == identifier.get("Id")
                            and f.data.get("ProductArn") == identifier.get("ProductArn")), None)
            if finding is None:
                unprocessed.append({"FindingIdentifier": identifier,
                                    "ErrorCode": "FindingNotFound",
                                    "ErrorMessage": "Finding Not Found"})
                continue
            data = finding.data
            for name, value in updates.items():
                if name == "Note":
                    data["Note"] = {"Text": value.get("Text"), "UpdatedBy": value.get("UpdatedBy"),
                                    "UpdatedAt": now}
                elif name == "Workflow":
                    data["Workflow"] = dict(value)
                    data["WorkflowState"] = value.get("Status", data.get("WorkflowState"))
                else:
                    data[name] = value
                    if name in CUSTOMER_UPDATABLE:
                        customer = data.setdefault("_iamsim_customer_updated", [])
                        if name not in customer:
                            customer.append(name)
            data["UpdatedAt"] = now
            processed.append({"Id": identifier.get("Id"),
                              "ProductArn": identifier.get("ProductArn")})
    return processed, unprocessed


def _get_findings_response(self) -> str:
    findings, token = self.securityhub_backend.get_findings(
        filters=self._get_param("Filters"),
        sort_criteria=self._get_param("SortCriteria"),
        max_results=self._get_param("MaxResults"),
        next_token=self._get_param("NextToken"),
    )
    for finding in findings:
        finding.pop("_iamsim_customer_updated", None)
    response = {"Findings": findings}
    if token:
        response["NextToken"] = token
    return json.dumps(response)


def _batch_update_findings_response(self) -> str:
    params = json.loads(self.body) if self.body else {}
    identifiers = params.pop("FindingIdentifiers", [])
    processed, unprocessed = self.securityhub_backend.batch_update_findings(identifiers, params)
    return json.dumps({"ProcessedFindings": processed, "UnprocessedFindings": unprocessed})


def install() -> None:
    SecurityHubBackend.get_findings = get_findings
    SecurityHubBackend.batch_import_findings = batch_import_findings
    SecurityHubBackend.batch_update_findings = batch_update_findings
    SecurityHubResponse.get_findings = _get_findings_response
    SecurityHubResponse.batch_update_findings = _batch_update_findings_response
    securityhub_urls.url_paths["{0}/findings/batchupdate$"] = SecurityHubResponse.dispatch
