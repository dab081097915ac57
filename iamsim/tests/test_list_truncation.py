"""IAM always answers `IsTruncated` on its paged calls (and `Marker` when it is true); moto
leaves it out of several (ListGroups among them), and a client that reads it crashes. Every IAM
operation whose answer has `IsTruncated` in the API model is called here through boto3 and the
raw XML is checked."""

from __future__ import annotations

import json

import botocore.session
import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT, arn

POLICY_ARN = arn("policy", "AppData")
DOCUMENT = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})

# Arguments by parameter name, for every operation below; `setup` creates what they name.
ARGUMENTS = {
    "UserName": "alice", "RoleName": "app", "GroupName": "devs", "PolicyArn": POLICY_ARN,
    "InstanceProfileName": "app-profile", "SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice-mfa",
    "OpenIDConnectProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.example.com",
    "SAMLProviderArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/corp",
    "ServerCertificateName": "web", "Arn": arn("user", "alice"), "ServiceNamespaces": ["s3"],
    "ServiceNamespace": "s3", "PolicyInputList": [DOCUMENT], "ActionNames": ["s3:GetObject"],
    "PolicySourceArn": arn("user", "alice"),
}

# Operations the answer model pages that moto 5.2 does not serve at all (iamsim answers
# InvalidAction): nothing to fix there. One that iamsim comes to serve is checked like the rest.
NOT_SERVED = {"GetOrganizationsAccessReport", "ListServiceSpecificCredentials",
              "ListInstanceProfileTags", "ListMFADeviceTags", "ListSAMLProviderTags",
              "ListServerCertificateTags", "SimulateCustomPolicy", "SimulatePrincipalPolicy"}

SAML_METADATA = ("<?xml version=\"1.0\"?><md:EntityDescriptor "
                 "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"corp\"/>")


def paged_operations() -> list[str]:
    model = botocore.session.get_session().get_service_model("iam")
    return [name for name in model.operation_names
            if (shape := model.operation_model(name).output_shape) is not None
            and "IsTruncated" in shape.members]


def snake(name: str) -> str:
    out = ""
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out += "_"
        elif char.isupper() and index and index + 1 < len(name) and name[index + 1].islower() \
                and name[index - 1].isupper():
            out += "_"
        out += char.lower()
    return out


@pytest.fixture(scope="module")
def iam(start):
    server = start()
    client = server.client("iam")
    client.create_instance_profile(InstanceProfileName="app-profile", Tags=[
        {"Key": "team", "Value": "web"}])
    client.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app")
    mfa = client.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")
    ARGUMENTS["SerialNumber"] = mfa["VirtualMFADevice"]["SerialNumber"]
    client.create_open_id_connect_provider(Url="https://token.example.com",
                                           ThumbprintList=["a" * 40], ClientIDList=["sts"])
    client.create_saml_provider(Name="corp", SAMLMetadataDocument=SAML_METADATA * 100)
    client.upload_server_certificate(ServerCertificateName="web", CertificateBody="body",
                                     PrivateKey="key")
    client.create_access_key(UserName="alice")
    job = client.generate_service_last_accessed_details(Arn=arn("user", "alice"))
    ARGUMENTS["JobId"] = job["JobId"]
    client.create_group(GroupName="ops")
    return client


def raw_answer(client, operation: str, arguments: dict) -> tuple[dict, bytes]:
    bodies = []

    def keep(http_response, **_):
        bodies.append(http_response.content)

    client.meta.events.register(f"after-call.iam.{operation}", keep)
    try:
        parsed = getattr(client, snake(operation))(**arguments)
    finally:
        client.meta.events.unregister(f"after-call.iam.{operation}", keep)
    return parsed, bodies[-1]


def test_the_model_names_every_paged_operation_this_test_knows():
    operations = paged_operations()
    assert "ListGroups" in operations and "ListUsers" in operations and len(operations) >= 35


@pytest.mark.parametrize("operation", paged_operations())
def test_every_paged_answer_carries_is_truncated(iam, operation):
    if operation == "GetOrganizationsAccessReport":
        pytest.skip("needs an organization's job: test_org_reports.py pages it by IsTruncated")
    model = botocore.session.get_session().get_service_model("iam")
    shape = model.operation_model(operation).input_shape
    # UserName too where it is optional: without it the caller's own user is meant, and the
    # test's access key belongs to no user.
    wanted = set(shape.required_members) | ({"UserName"} & set(shape.members))
    arguments = {name: ARGUMENTS[name] for name in wanted}
    try:
        parsed, body = raw_answer(iam, operation, arguments)
    except ClientError as error:
        assert error.response["Error"]["Code"] == "InvalidAction", (operation, error)
        assert operation in NOT_SERVED, f"{operation}: InvalidAction"
        return
    assert b"<IsTruncated>" in body, (operation, body[:400])
    assert isinstance(parsed["IsTruncated"], bool)
    if parsed["IsTruncated"]:
        assert parsed.get("Marker"), (operation, parsed)


@pytest.mark.parametrize("operation,result_key", [
    ("ListGroups", "Groups"), ("ListUsers", "Users"), ("ListRoles", "Roles"),
    ("ListPolicies", "Policies"),
])
def test_a_truncated_answer_names_the_marker_that_continues_it(iam, operation, result_key):
    arguments = {"Scope": "Local"} if operation == "ListPolicies" else {}
    seen, marker = [], None
    for _ in range(20):
        page, body = raw_answer(iam, operation, {**arguments, "MaxItems": 1,
                                                 **({"Marker": marker} if marker else {})})
        assert b"<IsTruncated>" in body
        seen += page[result_key]
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    else:
        pytest.fail(f"{operation} never ended")
    everything = getattr(iam, snake(operation))(**arguments)[result_key]
    assert len(seen) == len(everything) >= 2
