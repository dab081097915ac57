"""`python -m iamsim.generate --users N --roles N --groups N --seed S [--accounts A]`: a large,
realistic scenario on stdout, the same for the same arguments.

With `--accounts A` the scenario is an Organization of A accounts: the management account and
A - 1 members, each holding its own generated entities (seed S + its index) and the role
`OrganizationAccountAccessRole` that Organizations creates in every member account (here in the
management account too, so that every account has the same shape and can be assumed into the
same way)."""

from __future__ import annotations

import argparse
import json
import random
import sys

AWS = "arn:aws:iam::aws:policy/"
# Services workloads typically use, with a few actions each (for custom policies).
WORKLOAD_SERVICES = {
    "s3": ["GetObject", "PutObject", "ListBucket", "GetBucketPolicy", "GetBucketLocation"],
    "dynamodb": ["GetItem", "PutItem", "Query", "UpdateItem", "DescribeTable"],
    "sqs": ["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueAttributes"],
    "sns": ["Publish", "ListTopics"],
    "logs": ["CreateLogStream", "PutLogEvents", "DescribeLogGroups"],
    "kms": ["Decrypt", "Encrypt", "GenerateDataKey"],
    "secretsmanager": ["GetSecretValue", "DescribeSecret"],
    "ssm": ["GetParameter", "GetParametersByPath"],
    "lambda": ["InvokeFunction", "ListFunctions", "GetFunction", "UpdateFunctionCode"],
    "ec2": ["DescribeInstances", "DescribeSubnets", "DescribeSecurityGroups", "RunInstances"],
    "ecr": ["GetAuthorizationToken", "BatchGetImage", "GetDownloadUrlForLayer"],
    "cloudwatch": ["PutMetricData", "GetMetricData"],
    "states": ["StartExecution", "DescribeExecution"],
    "events": ["PutEvents"],
    "kinesis": ["PutRecord", "GetRecords"],
    "athena": ["StartQueryExecution", "GetQueryResults"],
    "glue": ["GetTable", "GetDatabase"],
    "iam": ["GetRole", "ListRoles", "PassRole"],
}
TRACKED = {"s3", "ec2", "iam", "lambda"}
ADMIN_SERVICES = list(WORKLOAD_SERVICES) + ["rds", "cloudformation", "sts", "route53",
                                             "elasticloadbalancing", "autoscaling", "eks",
                                             "ecs", "organizations", "cloudtrail", "config"]
SERVICE_LINKED = [
    ("eks.amazonaws.com", "AWSServiceRoleForAmazonEKS", "AmazonEKSServiceRolePolicy"),
    ("support.amazonaws.com", "AWSServiceRoleForSupport", "AWSSupportServiceRolePolicy"),
    ("rds.amazonaws.com", "AWSServiceRoleForRDS", "AmazonRDSServiceRolePolicy"),
    ("autoscaling.amazonaws.com", "AWSServiceRoleForAutoScaling", "AutoScalingServiceRolePolicy"),
]
TRUSTED = ["lambda.amazonaws.com", "ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]
TEAMS = ["web", "data", "platform", "payments", "search", "mobile", "ml", "security"]


class Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.action_rng = random.Random(seed * 7919 + 1)  # action detail added later
        self.custom: list[tuple[str, dict[str, list[str]]]] = []  # name -> service actions
        self.group_services: dict[str, set[str]] = {}

    def days(self, low: float, high: float) -> float:
        return round(self.rng.uniform(low, high), 3)

    def policies(self, count: int) -> list[dict]:
        out = []
        for i in range(count):
            services = self.rng.sample(sorted(WORKLOAD_SERVICES), self.rng.randint(1, 4))
            grant = {s: self.rng.sample(WORKLOAD_SERVICES[s],
                                        self.rng.randint(1, len(WORKLOAD_SERVICES[s])))
                     for s in services}
            statements = [{"Effect": "Allow", "Action": [f"{s}:{a}" for a in acts],
                           "Resource": "*"} for s, acts in grant.items()]
            if self.rng.random() < 0.2:  # some use wildcards
                s = services[0]
                statements.append({"Effect": "Allow", "Action": f"{s}:Get*", "Resource": "*"})
            name = f"app-{i:04d}-{'-'.join(services[:2])}"
            self.custom.append((name, grant))
            out.append({"name": name, "path": "/app/", "created_days_ago": self.days(30, 900),
                        "document": {"Version": "2012-10-17", "Statement": statements}})
        out.append({"name": "WorkloadBoundary", "path": "/boundaries/", "document": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [
                f"{s}:*" for s in WORKLOAD_SERVICES if s != "iam"], "Resource": "*"}]}})
        out.append({"name": "PowerNoIam", "path": "/", "document": {
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotAction": [
                "iam:*", "organizations:*", "account:*"], "Resource": "*"}]}})
        return out

    def activity(self, services: list[str], stale: bool = False, ancient: bool = False) -> dict:
        """Use of a share of the granted services, with action-level detail for tracked ones."""
        used = {}
        for s in services:
            if self.rng.random() > 0.7:
                continue
            if ancient:
                days = self.days(401, 700)
            elif stale:
                days = self.days(200, 399)
            else:
                days = self.days(0, 120) if self.rng.random() < 0.8 else self.days(120, 399)
            entry = {"days_ago": days}
            if self.rng.random() < 0.3:
                entry["region"] = self.rng.choice(["us-east-1", "eu-west-1", "us-west-2"])
            if s in TRACKED and s in WORKLOAD_SERVICES:
                # AWS records the last use of every tracked action, so a used service with
                # tracked actions says which it used (for S3 maybe only untracked object calls,
                # which the server leaves out of the data). Half of them draw from the main
                # generator, as before; the other half from their own, so that every other
                # entity of a seed stays what it was.
                rng = self.rng if self.rng.random() < 0.5 else self.action_rng
                acts = rng.sample(WORKLOAD_SERVICES[s], rng.randint(1, 2))
                entry["actions"] = {a: round(days + rng.uniform(0, 20), 3) for a in acts
                                    if not (s == "iam" and a == "PassRole")}
            used[s] = entry
        return used

    def pick_custom(self, n: int) -> tuple[list[str], list[str]]:
        chosen = self.rng.sample(self.custom, min(n, len(self.custom)))
        return [c[0] for c in chosen], sorted({s for c in chosen for s in c[1]})

    def groups(self, count: int) -> list[dict]:
        out = []
        for i in range(count):
            names, services = self.pick_custom(self.rng.randint(1, 2))
            group = {"name": f"group-{i:03d}-{self.rng.choice(TEAMS)}", "path": "/",
                     "managed_policies": list(names), "created_days_ago": self.days(100, 1500)}
            if self.rng.random() < 0.3:
                group["managed_policies"].append(AWS + "AmazonS3ReadOnlyAccess")
            if self.rng.random() < 0.3:
                group["inline_policies"] = {"team-sqs": {"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}}
            self.group_services[group["name"]] = set(services) | {"s3", "sqs"}
            out.append(group)
        return out

    def users(self, count: int, groups: list[dict]) -> list[dict]:
        out = []
        for i in range(count):
            r = self.rng.random()
            user = {"name": f"user-{i:05d}", "path": "/", "created_days_ago": self.days(1, 2000),
                    "tags": {"team": self.rng.choice(TEAMS)}}
            if r < 0.05:
                user["managed_policies"] = [AWS + "AdministratorAccess"]
                user["activity"] = self.activity(ADMIN_SERVICES)
            elif r < 0.15:
                user["managed_policies"] = [AWS + self.rng.choice(
                    ["ReadOnlyAccess", "SecurityAudit", "job-function/ViewOnlyAccess"])]
                user["activity"] = self.activity(["iam", "s3", "ec2", "cloudtrail", "config"])
            else:
                member = self.rng.sample(groups, min(len(groups), self.rng.randint(0, 2)))
                user["groups"] = [g["name"] for g in member]
                names, services = self.pick_custom(self.rng.randint(0, 2))
                user["managed_policies"] = names
                services = sorted(set(services).union(
                    *(self.group_services[g["name"]] for g in member)))
                kind = self.rng.random()
                user["activity"] = self.activity(services, stale=0.7 <= kind < 0.9,
                                                 ancient=kind >= 0.9)
                if self.rng.random() < 0.05:
                    user["permissions_boundary"] = "WorkloadBoundary"
            out.append(user)
        return out

    def roles(self, count: int) -> list[dict]:
        out = []
        linked = 0
        for i in range(count):
            r = self.rng.random()
            role = {"name": f"role-{i:05d}", "path": "/", "created_days_ago": self.days(30, 1500),
                    "tags": {"team": self.rng.choice(TEAMS)}}
            if r < 0.03:
                role.update(trusted_service="ec2.amazonaws.com",
                            managed_policies=[AWS + self.rng.choice(
                                ["AdministratorAccess", "PowerUserAccess"])],
                            activity=self.activity(ADMIN_SERVICES))
            elif r < 0.06 and linked < len(SERVICE_LINKED):
                service, name, policy = SERVICE_LINKED[linked]
                linked += 1
                role.update(name=name, path=f"/aws-service-role/{service}/",
                            trusted_service=service, tags={},
                            managed_policies=[f"{AWS}aws-service-role/{policy}"],
                            activity={service.split(".")[0]: {"days_ago": self.days(0, 5)}})
            elif r < 0.08:
                role.update(trusted_service="ec2.amazonaws.com", managed_policies=["PowerNoIam"],
                            activity=self.activity(ADMIN_SERVICES))
            else:
                names, services = self.pick_custom(self.rng.randint(1, 3))
                role["trusted_service"] = self.rng.choice(TRUSTED)
                role["managed_policies"] = list(names)
                if role["trusted_service"] == "lambda.amazonaws.com":
                    role["managed_policies"].append(AWS + "service-role/AWSLambdaBasicExecutionRole")
                    services = sorted(set(services) | {"logs"})
                if self.rng.random() < 0.2:
                    role["inline_policies"] = {"extra": {"Version": "2012-10-17", "Statement": [
                        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": "*"}]}}
                    services = sorted(set(services) | {"sns"})
                if self.rng.random() < 0.1:
                    role["permissions_boundary"] = "WorkloadBoundary"
                kind = self.rng.random()
                if kind < 0.08:  # new: no history yet
                    role["created_days_ago"] = self.days(0, 29)
                    role["activity"] = {}
                else:
                    role["activity"] = self.activity(services, stale=0.75 <= kind < 0.9,
                                                     ancient=kind >= 0.95)
            out.append(role)
        return out


MANAGEMENT_ACCOUNT = "123456789012"
# The role Organizations creates in each account it creates (moto does too); the role to pass
# to `iamsweep --assume-role` for a generated Organization.
MEMBER_ROLE = "OrganizationAccountAccessRole"


def generate(users: int, roles: int, groups: int, seed: int) -> dict:
    g = Generator(seed)
    policies = g.policies(max(10, (users + roles) // 50))
    group_list = g.groups(groups)
    return {"account_id": MANAGEMENT_ACCOUNT, "policies": policies, "groups": group_list,
            "users": g.users(users, group_list), "roles": g.roles(roles)}


def member_account_id(index: int) -> str:
    """The id of member `index` (1-based): 12 digits, never the management account's."""
    return f"{200000000000 + index:012d}"


def generate_organization(accounts: int, users: int, roles: int, groups: int,
                          seed: int) -> dict:
    """An Organization of `accounts` accounts, each with `users + roles + groups + 1` entities
    (the `+ 1` is MEMBER_ROLE)."""
    scenario = generate(users, roles, groups, seed)
    # Organizations creates MEMBER_ROLE in the members; the management account gets it here.
    scenario["roles"].append({"name": MEMBER_ROLE, "created_days_ago": 400})
    members = {}
    for index in range(1, accounts):
        member = generate(users, roles, groups, seed + index)
        del member["account_id"]
        members[member_account_id(index)] = member
    scenario["accounts"] = members
    scenario["organization"] = {"accounts": [{"id": MANAGEMENT_ACCOUNT, "name": "management"}] + [
        {"id": account_id, "name": f"member-{index:03d}"}
        for index, account_id in enumerate(members, start=1)]}
    return scenario


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="iamsim/generate", description=__doc__)
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--roles", type=int, default=100)
    p.add_argument("--groups", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--accounts", type=int, default=None,
                   help="an Organization of this many accounts (management included), each "
                        "with the given users, roles and groups plus " + MEMBER_ROLE)
    a = p.parse_args(argv)
    if a.accounts is not None and a.accounts < 1:
        p.error(f"--accounts: expected at least 1, found {a.accounts}")
    if a.accounts is None:
        scenario = generate(a.users, a.roles, max(a.groups, 0), a.seed)
    else:
        scenario = generate_organization(a.accounts, a.users, a.roles, max(a.groups, 0), a.seed)
    json.dump(scenario, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
