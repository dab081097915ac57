"""Run-time options of the server (set once from the command line)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Settings:
    job_latency_ms: int = 0
    fail_jobs_percent: float = 0.0
    error_rate_percent: float = 0.0
    rate: float | None = None  # IAM calls per second, None = unlimited
    burst: int = 1
    seed: int = 0
    page_size: int | None = None  # cap on Access Advisor items a page, None = MaxItems
    # every AssumeRole session expires this many seconds after it is granted (None: as asked)
    session_lifetime_seconds: float | None = None
    # accounts whose every sts:AssumeRole answers AccessDenied (scenario `accounts.ID.deny_assume_role`)
    deny_assume_role: set[str] = field(default_factory=set)
    # resource ARNs whose findings BatchImportFindings fails (scenario `security_hub.refuse_resources`)
    refuse_finding_resources: set[str] = field(default_factory=set)


current = Settings()
