"""`python -m iamsim.server --scenario FILE --port PORT [options]`: see README.md.

Binds 127.0.0.1 only, prints `ready http://127.0.0.1:PORT` once it accepts requests.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading

DEFAULT_ACCOUNT = "123456789012"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="iamsim/serve", description=__doc__)
    p.add_argument("--scenario", help="scenario JSON file (default: an empty account)")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1, 0 = any free")
    p.add_argument("--job-latency-ms", type=int, default=0,
                   help="how long an Access Advisor job stays IN_PROGRESS")
    p.add_argument("--rate", type=float, help="IAM calls per second (token bucket)")
    p.add_argument("--burst", type=int, default=None, help="token bucket size (default: rate)")
    p.add_argument("--fail-jobs", type=float, default=0.0, help="percent of jobs ending FAILED")
    p.add_argument("--error-rate", type=float, default=0.0,
                   help="percent of IAM calls answered 500 ServiceFailure")
    p.add_argument("--record", help="append one JSON line per call to this file")
    p.add_argument("--clock-offset-days", type=float, default=0.0,
                   help="shift the server's now by this many days")
    p.add_argument("--seed", type=int, default=0, help="seed for faults and job ids")
    p.add_argument("--page-size", type=int, default=None,
                   help="Access Advisor items a page at most, whatever MaxItems asks (AWS may "
                        "return fewer than asked)")
    p.add_argument("--session-lifetime-seconds", type=float, default=None,
                   help="every AssumeRole session expires this many seconds after it is granted")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    p.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def configure(args: argparse.Namespace, account_id: str) -> None:
    """Settings and moto patches; must run before any request or scenario load."""
    # moto's AWS managed policies are opt-in; iamsweep's accounts use them everywhere.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

    from . import (advisor, caller, clock, faults, iam_extras, org_reports, other_services,
                   sessions)
    from .settings import current

    clock.configure(args.clock_offset_days)
    faults.seed(args.seed)
    current.job_latency_ms = args.job_latency_ms
    current.fail_jobs_percent = args.fail_jobs
    current.error_rate_percent = args.error_rate
    current.rate = args.rate
    current.burst = args.burst if args.burst is not None else max(1, int(args.rate or 1))
    current.seed = args.seed
    current.page_size = args.page_size
    current.session_lifetime_seconds = args.session_lifetime_seconds

    import moto.core.models
    import moto.iam.models

    # Unknown access keys (any test credentials) belong to the scenario's account.
    moto.iam.models.DEFAULT_ACCOUNT_ID = account_id
    moto.core.models.DEFAULT_ACCOUNT_ID = account_id
    if args.clock_offset_days:
        # Dates of entities created over the API follow the shifted clock too.
        moto.iam.models.utcnow = clock.naive_now

    advisor.install()
    org_reports.install()
    iam_extras.install()
    other_services.install()
    caller.install()
    sessions.install()
    from . import list_truncation

    list_truncation.install()  # last: it wraps the IAM methods patched above


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.setup_only:
        return
    scenario = {}
    if args.scenario:
        with open(args.scenario) as f:
            scenario = json.load(f)
    account_id = str(scenario.get("account_id", DEFAULT_ACCOUNT))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        stream=sys.stderr)
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    configure(args, account_id)

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from . import scenario as scenario_loader
    from .gate import Gate, Recorder

    scenario_loader.load(scenario, account_id)
    app = Gate(DomainDispatcherApplication(create_backend_app), Recorder(args.record))
    server = make_server("127.0.0.1", args.port, app, threaded=True)

    def stop(signum, frame):
        # shutdown() waits for serve_forever to return, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"ready http://127.0.0.1:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
