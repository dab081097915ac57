"""The fan-out state machine of deploy/template.yaml, executed by moto's Step Functions interpreter.

The definition is read from the template as written: the test resolves `Fn::Sub` (the pseudo
parameters `AWS::Partition`, `AWS::Region`, `AWS::AccountId` only) and `DefinitionSubstitutions`
(`FunctionArn`, `MemberRoleName`, `Mode`, `MaxConcurrency`; any other intrinsic or placeholder
fails the test), creates the state machine in moto and runs it with
`mock_aws(config={"stepfunctions": {"execute_state_machine": True}})` over an Organization
served by moto's Organizations, in pages of 20 accounts as the API answers.

What is not the real thing, and why:

- The Lambda task. moto runs Lambda code only in Docker, and the `provided.al2023` bootstrap
  would need a Lambda Runtime API and an IAM endpoint per member account besides. A stub answers
  instead, with the answers the real handler gave, recorded in `fan_out_answers.json`;
  `crates/lambda/tests/it/fan_out_answers.rs` runs the real handler and fails when its answers'
  shape (fields, JSON types, status) departs from that file, so the stub cannot drift.
- JSONata. moto 5.2 parses JSONata states but leaves the evaluator out (LocalStack runs
  jsonata-java in a JVM); the test plugs in `jsonata-python`, a port of that same
  implementation, where moto calls it.
- `Account.Status`. moto still answers it beside `State`; Organizations retired it on
  2026-09-09, so the test removes it from moto's answers.

The execution runs on moto's worker thread; the test joins that thread rather than polling.
"""

from __future__ import annotations

import io
import json
import re
import threading
import zipfile
from pathlib import Path

import boto3
import jsonata
import pytest
import yaml
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.organizations.models import FakeAccount, organizations_backends
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.utils import TMP_THREADS

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE.parent / "template.yaml"
ANSWERS = json.loads((HERE / "fan_out_answers.json").read_text())

REGION = "us-east-1"
MANAGEMENT = "123456789012"  # moto's default account: the Organization's management account
PSEUDO_PARAMETERS = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": MANAGEMENT}
MOTO = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


# ---------------------------------------------------------------- the template


class TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (`!Sub x` -> `{"Fn::Sub": x}`)."""


def _intrinsic(loader: TemplateLoader, suffix: str, node: yaml.Node) -> dict:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


TemplateLoader.add_multi_constructor("!", _intrinsic)


def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=TemplateLoader)


def parameter_default(name: str) -> str:
    return str(template()["Parameters"][name]["Default"])


PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


def resolve(node, substitutions: dict[str, str]):
    """The definition as Step Functions receives it: `Fn::Sub` of pseudo parameters, then the
    `DefinitionSubstitutions`. Anything else left in it is a test failure, not a guess."""
    if isinstance(node, dict):
        if list(node) == ["Fn::Sub"] and isinstance(node["Fn::Sub"], str):
            return resolve(PLACEHOLDER.sub(lambda m: PSEUDO_PARAMETERS[m[1]], node["Fn::Sub"]),
                           substitutions)
        intrinsic = [key for key in node if key == "Ref" or key.startswith("Fn::")]
        assert not intrinsic, f"the definition uses {intrinsic}, which this test cannot resolve"
        return {key: resolve(value, substitutions) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(value, substitutions) for value in node]
    if isinstance(node, str):
        text = PLACEHOLDER.sub(lambda m: substitutions[m[1]], node)
        assert "${" not in text, text
        return text
    return node


def definition(function_arn: str, mode: str | None = None, max_concurrency: str | None = None
               ) -> dict:
    machine = template()["Resources"]["FanOutStateMachine"]["Properties"]
    substitutions = {
        "FunctionArn": function_arn,
        "MemberRoleName": parameter_default("MemberRoleName"),
        "Mode": mode or parameter_default("FanOutMode"),
        "MaxConcurrency": max_concurrency or parameter_default("FanOutMaxConcurrency"),
    }
    assert set(machine["DefinitionSubstitutions"]) == set(substitutions), (
        "DefinitionSubstitutions changed: name each one in this test")
    return resolve(machine["Definition"], substitutions)


# ---------------------------------------------------------------- the function's stand-in


def handler_answer(payload: dict, outcomes: dict[str, str]) -> tuple[dict, bool]:
    """(answer, is_function_error) as crates/lambda answers a fan-out payload."""
    # The handler's FanOut payload: exactly these fields (serde deny_unknown_fields).
    if set(payload) != {"account_id", "role_name", "mode"} or payload["mode"] not in (
            "audit", "enforce"):
        return {"errorType": "EventError",
                "errorMessage": f"unrecognised event: fan-out payload: {payload}"}, True
    account = payload["account_id"]
    outcome = outcomes.get(account, "complete")
    if outcome == "crash":
        # An error the handler does not turn into an answer (e.g. S3 unreachable): the Lambda
        # runtime reports it as a function error.
        return {"errorType": "Error", "errorMessage": f"journal unreachable in {account}"}, True
    answer = json.loads(json.dumps(ANSWERS[outcome]))
    answer["account_id"] = account
    return answer, False


class Function:
    """Stands in for `bootstrap` behind moto's Lambda Invoke; records every payload."""

    def __init__(self, outcomes: dict[str, str]):
        self.outcomes = outcomes
        self.payloads: list[dict] = []
        self.lock = threading.Lock()

    def install(self, monkeypatch) -> None:
        function = self

        def invoke(backend, function_name, qualifier, body, headers, response_headers):
            backend.get_function(function_name, qualifier)  # an unknown function still fails
            payload = json.loads(body)
            with function.lock:
                function.payloads.append(payload)
            answer, failed = handler_answer(payload, function.outcomes)
            if failed:
                response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(answer).encode()

        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)


def create_function() -> str:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="fan-out-function", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("bootstrap", "stand-in: moto never runs it")
    return boto3.client("lambda", region_name=REGION).create_function(
        FunctionName="stack-iamsweep", Runtime="provided.al2023", Handler="bootstrap",
        Role=role["Role"]["Arn"], Code={"ZipFile": package.getvalue()})["FunctionArn"]


# ---------------------------------------------------------------- the Organization


def organization(monkeypatch, members: int) -> list[str]:
    """An Organization of the management account and `members` ACTIVE accounts, in the order
    ListAccounts pages through them. moto's answers lose the retired `Status`."""
    original = FakeAccount.describe

    def describe(account):
        answer = original(account)
        answer.pop("Status", None)
        if getattr(account, "state", None) is None:
            answer.pop("State", None)
        return answer

    monkeypatch.setattr(FakeAccount, "describe", describe)
    client = boto3.client("organizations", region_name=REGION)
    client.create_organization(FeatureSet="ALL")
    for index in range(members):
        client.create_account(AccountName=f"member-{index:02}",
                              Email=f"member-{index:02}@example.com")
    ids, token = [], None
    while True:
        page = client.list_accounts(**({"NextToken": token} if token else {}))
        ids += [account["Id"] for account in page["Accounts"]]
        token = page.get("NextToken")
        if not token:
            return ids


def set_state(account_id: str, state: str | None) -> None:
    backend = organizations_backends[MANAGEMENT]["aws"]
    account = next(a for a in backend.accounts if a.id == account_id)
    account.state = state


# ---------------------------------------------------------------- running it


@pytest.fixture
def jsonata_in_moto(monkeypatch):
    monkeypatch.setattr(moto_jsonata, "_eval_jsonata",
                        lambda expression: jsonata.Jsonata(expression).evaluate(None))


def run(machine: dict, execution_input: dict | None = None) -> tuple[dict, list[dict]]:
    """Creates and runs the state machine to its end; returns (execution, history)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    arn = sfn.create_state_machine(
        name="stack-fan-out", definition=json.dumps(machine),
        roleArn=f"arn:aws:iam::{MANAGEMENT}:role/stack-fan-out")["stateMachineArn"]
    started = len(TMP_THREADS)
    execution_arn = sfn.start_execution(
        stateMachineArn=arn, input=json.dumps(execution_input or {}))["executionArn"]
    for thread in TMP_THREADS[started:]:
        thread.join(timeout=120)
        assert not thread.is_alive(), "the execution did not end"
    execution = sfn.describe_execution(executionArn=execution_arn)
    history = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    return execution, history


def output(execution: dict) -> dict:
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), execution.get("cause"))
    return json.loads(execution["output"])


# ---------------------------------------------------------------- tests


def test_every_account_state_is_counted_exactly_across_pages(monkeypatch, jsonata_in_moto):
    with mock_aws(config=MOTO):
        ids = organization(monkeypatch, members=46)  # 47 accounts: pages of 20, 20 and 7
        assert len(ids) == 47
        page1, page2, page3 = ids[:20], ids[20:40], ids[40:]
        # Every state Organizations knows, and an account answered without `State`.
        states = {page1[1]: "SUSPENDED", page1[2]: "PENDING_CLOSURE", page2[3]: "SUSPENDED",
                  page2[4]: "CLOSED", page3[1]: "PENDING_ACTIVATION", page3[2]: None}
        for account_id, state in states.items():
            set_state(account_id, state)
        # Page 3 has no partial and no failed account: AddUp must count zero, not fail.
        outcomes = {page1[3]: "refused", page2[5]: "refused", page1[4]: "partial",
                    page2[6]: "partial", page2[7]: "partial", page1[5]: "crash"}
        function = Function(outcomes)
        function.install(monkeypatch)

        execution, history = run(definition(create_function()))

        active = [account for account in ids if account not in states]
        assert sorted(p["account_id"] for p in function.payloads) == sorted(active)
        assert all(p == {"account_id": p["account_id"], "role_name": "iamsweep-member",
                         "mode": "audit"} for p in function.payloads)
        assert output(execution) == {
            "totals": {"accounts": 47, "audited": 47 - 6 - 6, "partial": 3, "failed": 3,
                       "skipped": 6},
            # In ListAccounts order: the refused roles and the function error.
            "failed_accounts": [page1[3], page1[5], page2[5]],
            "partial_accounts": [page1[4], page2[6], page2[7]],
        }
        # One ListAccounts call a page, each asking for the API's maximum of 20.
        listed = [json.loads(event["taskScheduledEventDetails"]["parameters"])
                  for event in history if event["type"] == "TaskScheduled"
                  and event["taskScheduledEventDetails"]["resource"] == "listAccounts"]
        assert [page.get("MaxResults") for page in listed] == [20, 20, 20]
        assert ["NextToken" in page for page in listed] == [False, True, True]


def test_a_single_page_with_nothing_partial_or_failed_adds_up_to_zeros(monkeypatch, jsonata_in_moto):
    # The definition before this fix failed exactly here: a JSONPath filter matching nothing.
    with mock_aws(config=MOTO):
        ids = organization(monkeypatch, members=4)
        function = Function({})
        function.install(monkeypatch)
        execution, _ = run(definition(create_function()))
        assert output(execution) == {
            "totals": {"accounts": 5, "audited": 5, "partial": 0, "failed": 0, "skipped": 0},
            "failed_accounts": [], "partial_accounts": []}
        assert sorted(p["account_id"] for p in function.payloads) == sorted(ids)


def test_an_organization_of_accounts_without_state_invokes_nothing_and_says_so(
        monkeypatch, jsonata_in_moto):
    # Hostile input: answers without `State` (as the retired field's readers would expect) are
    # skipped, visibly, and never fail the run nor reach the function.
    with mock_aws(config=MOTO):
        ids = organization(monkeypatch, members=2)
        for account_id in ids:
            set_state(account_id, None)
        function = Function({})
        function.install(monkeypatch)
        execution, _ = run(definition(create_function()))
        assert output(execution)["totals"] == {
            "accounts": 3, "audited": 0, "partial": 0, "failed": 0, "skipped": 3}
        assert function.payloads == []


def test_enforce_mode_and_concurrency_reach_each_invocation(monkeypatch, jsonata_in_moto):
    with mock_aws(config=MOTO):
        organization(monkeypatch, members=2)
        function = Function({})
        function.install(monkeypatch)
        execution, _ = run(definition(create_function(), mode="enforce", max_concurrency="3"))
        assert output(execution)["totals"]["audited"] == 3
        assert {p["mode"] for p in function.payloads} == {"enforce"}
        sfn = boto3.client("stepfunctions", region_name=REGION)
        runs = sfn.list_map_runs(executionArn=execution["executionArn"])["mapRuns"]
        assert len(runs) == 1
        run_details = sfn.describe_map_run(mapRunArn=runs[0]["mapRunArn"])
        assert run_details["maxConcurrency"] == 3, run_details


def test_the_map_runs_as_a_distributed_map(monkeypatch, jsonata_in_moto):
    # The Map is DISTRIBUTED (child executions, MaxConcurrencyPath): the interpreter must run it
    # as such, one map run a page, not fall back to an inline Map.
    machine = template()["Resources"]["FanOutStateMachine"]["Properties"]["Definition"]
    processor = machine["States"]["AuditAccounts"]["ItemProcessor"]["ProcessorConfig"]
    assert processor == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    with mock_aws(config=MOTO):
        organization(monkeypatch, members=25)  # two pages
        Function({}).install(monkeypatch)
        execution, history = run(definition(create_function()))
        assert output(execution)["totals"]["accounts"] == 26
        types = [event["type"] for event in history]
        assert types.count("MapRunStarted") == 2, types
        assert types.count("MapRunSucceeded") == 2, types


def test_every_arn_in_the_templates_names_its_partition():
    # aws-cn and aws-us-gov: a literal `arn:aws:` breaks the stack there.
    for path in sorted(TEMPLATE.parent.glob("*.yaml")):
        literal = [line.strip() for line in path.read_text().splitlines()
                   if "arn:aws:" in line and not line.strip().startswith("#")]
        assert literal == [], f"{path.name}: {literal}"
    machine = template()["Resources"]["FanOutStateMachine"]["Properties"]["Definition"]
    tasks = []

    def walk(states):
        for state in states.values():
            if state["Type"] == "Task":
                tasks.append(state["Resource"])
            if "ItemProcessor" in state:
                walk(state["ItemProcessor"]["States"])

    walk(machine["States"])
    assert len(tasks) == 3
    assert all(list(task) == ["Fn::Sub"] and task["Fn::Sub"].startswith("arn:${AWS::Partition}:")
               for task in tasks), tasks


def test_the_stub_answers_as_recorded_from_the_handler():
    # The stub's answers are the recorded ones, and carry what the ResultSelector reads.
    machine = template()["Resources"]["FanOutStateMachine"]["Properties"]["Definition"]
    selector = machine["States"]["AuditAccounts"]["ItemProcessor"]["States"]["AuditAccount"][
        "ResultSelector"]
    read = {path.removeprefix("$.Payload.") for path in selector.values()}
    for outcome, status in (("complete", "complete"), ("partial", "partial"),
                            ("refused", "error")):
        answer, failed = handler_answer(
            {"account_id": "210987654321", "role_name": "r", "mode": "audit"},
            {"210987654321": outcome})
        assert not failed
        assert set(answer) == set(ANSWERS[outcome]) and answer["status"] == status
        assert read <= set(answer), (outcome, read - set(answer))
    _, failed = handler_answer({"account_id": "1", "role_name": "r", "mode": "audit",
                                "extra": 1}, {})
    assert failed, "the handler refuses unknown payload fields"
