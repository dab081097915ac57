"""Starts real iamsim servers (iamsim/serve --port 0, 127.0.0.1 only) for the tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "scenarios" / "example.json"
ACCOUNT = "123456789012"


class Server:
    def __init__(self, scenario: Path, *options: str):
        self.proc = subprocess.Popen(
            [str(ROOT / "serve"), "--scenario", str(scenario), "--port", "0", *options],
            stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().strip()
        assert line.startswith("ready http://127.0.0.1:"), line
        self.url = line.split()[1]

    def client(self, service: str, retries: int = 1, **creds):
        """A boto3 client; retries=1 means no retry, so injected faults surface. `region_name`
        picks the region (default us-east-1): Security Hub keeps findings per region and takes
        a finding only under a product ARN of the region called."""
        return boto3.client(
            service, endpoint_url=self.url, region_name=creds.get("region_name", "us-east-1"),
            aws_access_key_id=creds.get("key", "AKIAIOSFODNN7EXAMPLE"),
            aws_secret_access_key=creds.get("secret", "secret"),
            aws_session_token=creds.get("token"),
            config=Config(retries={"total_max_attempts": retries, "mode": "standard"},
                          s3={"addressing_style": "path"}))

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=10) == 0


@pytest.fixture(scope="module")
def start(tmp_path_factory):
    """start(scenario_dict_or_path, *options) -> Server, stopped when the module ends."""
    servers = []

    def _start(scenario=EXAMPLE, *options):
        if isinstance(scenario, dict):
            path = tmp_path_factory.mktemp("scenario") / "scenario.json"
            path.write_text(json.dumps(scenario))
            scenario = path
        server = Server(scenario, *options)
        servers.append(server)
        return server

    yield _start
    for server in servers:
        server.stop()


def arn(kind: str, name: str, path: str = "/") -> str:
    return f"arn:aws:iam::{ACCOUNT}:{kind}{path}{name}"


def all_services(iam, job_id: str, max_items: int = 100) -> list[list[dict]]:
    """Every page of a completed job's ServicesLastAccessed."""
    pages, marker = [], None
    while True:
        kwargs = {"JobId": job_id, "MaxItems": max_items}
        if marker:
            kwargs["Marker"] = marker
        r = iam.get_service_last_accessed_details(**kwargs)
        assert r["JobStatus"] == "COMPLETED"
        pages.append(r["ServicesLastAccessed"])
        if not r["IsTruncated"]:
            assert "Marker" not in r
            return pages
        assert r["Marker"] != marker
        marker = r["Marker"]
