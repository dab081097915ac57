"""Renders iamsweep's HTML reports in headless Chromium and checks them from the DOM.

For each page: it loads from disk with no request to anything but the file itself, the inline
script runs without an error (the root element gets `data-ready="true"`), every entity of the
JSON report of the same run has its row (`data-arn`, compared as a multiset), the kind filter
shows exactly the entities of that kind, a text search finds an entity, and sorting by
coverage orders the rows; then a screenshot is saved. Pages: the demo snapshot's `audit` and
`check` reports, and the `audit` and `plan` reports of a generated account audited live from
iamsim (`iamsim/generate`, `--entities`, 600 by default to keep CI quick; README's
10,000-entity figure comes from `--entities 10000`). The plan needs the account's live state,
so iamsim serves the generated scenario while it is made; with `--snapshot`, a plan page is
made only when `--scenario` names the scenario the snapshot was collected from.

Chromium is driven through the DevTools protocol over a pipe (`--remote-debugging-pipe`: file
descriptors 3 and 4, NUL-terminated JSON), so nothing listens on a port and no package beyond
Python's standard library is needed. Prints one JSON line per page (size, load time) and
writes them to OUT/results.json. Usage: browser_check.py --binary PATH --out DIR
[--entities N] [--snapshot FILE [--scenario FILE]] [--docs-screenshot FILE].
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--remote-debugging-pipe"]
ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "browser-check",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "IAMSWEEP_POLL_FIRST_MS": "5",
}


class Failure(Exception):
    """A check that did not hold."""


class Browser:
    """One headless Chromium, spoken to over the DevTools pipe."""

    def __init__(self, chromium: str):
        self.profile = tempfile.mkdtemp(prefix="iamsweep-chromium-")
        commands_read, self.commands = os.pipe()
        self.answers, answers_write = os.pipe()

        def pipes_at_3_and_4():
            # Copied out of the way first: a pipe may already be fd 3 or 4, and dup2 onto
            # itself would leave it close-on-exec. os.dup2 makes the copies inheritable.
            read, write = os.dup(commands_read), os.dup(answers_write)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen(
            [chromium, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            preexec_fn=pipes_at_3_and_4, close_fds=False,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(commands_read)
        os.close(answers_write)
        self.buffer = b""
        self.last_id = 0
        self.events: list[dict] = []

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except Exception:  # noqa: BLE001 - closing is best effort; the kill below is not
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self.commands)
        os.close(self.answers)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("Chromium did not answer in time")
            ready, _, _ = select.select([self.answers], [], [], left)
            if ready:
                chunk = os.read(self.answers, 1 << 20)
                if not chunk:
                    raise Failure("Chromium closed the DevTools pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None,
             timeout: float = 60) -> dict:
        self.last_id += 1
        message = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            answer = self._read(deadline)
            if answer.get("id") == self.last_id:
                if "error" in answer:
                    raise Failure(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, session: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return event
            self.events.append(self._read(deadline))

    def evaluate(self, session: str, expression: str):
        result = self.send("Runtime.evaluate",
                           {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in result:
            raise Failure(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")


def check_page(browser: Browser, page: Path, report: dict, screenshot: Path,
               docs_screenshot: Path | None = None) -> dict:
    """Loads `page`, checks it against the JSON `report`, saves a screenshot."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
        "sessionId"]
    for domain in ["Page", "Runtime", "Log", "Network"]:
        browser.send(f"{domain}.enable", session=session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session)
    browser.events.clear()
    started = time.monotonic()
    browser.send("Page.navigate", {"url": page.resolve().as_uri()}, session)
    browser.wait_for("Page.loadEventFired", session, timeout=300)
    load_seconds = time.monotonic() - started

    problems = []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            problems.append(f"script error: {params['exceptionDetails']}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            problems.append(f"console error: {params.get('args')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            problems.append(f"browser error: {params['entry'].get('text')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if url != page.resolve().as_uri():
                problems.append(f"request to {url}")
    state = browser.evaluate(session, """(() => ({
        ready: document.documentElement.getAttribute('data-ready'),
        arns: Array.from(document.querySelectorAll('#entity-table tbody tr'),
                         row => row.getAttribute('data-arn')),
        shown: document.getElementById('shown').textContent,
        overview: ['coverage', 'unused-services', 'findings', 'counts']
            .filter(id => document.getElementById(id) === null),
    }))()""")
    if state["ready"] != "true":
        problems.append("the page's script did not finish (no data-ready)")
    entities = report["entities"]
    expected = Counter(entity["arn"] for entity in entities)
    found = Counter(state["arns"])
    if found != expected:
        problems.append(f"rows differ from the JSON report: missing {list((expected - found))[:5]}, "
                        f"extra {list((found - expected))[:5]}")
    if state["shown"] != str(len(entities)):
        problems.append(f"`shown` says {state['shown']}, expected {len(entities)}")
    if state["overview"]:
        problems.append(f"overview sections missing: {state['overview']}")

    # The filters and sorting, as a person would use them.
    roles = sum(1 for entity in entities if entity["kind"] == "role")
    filtered = browser.evaluate(session, """(() => {
        const kind = document.getElementById('filter-kind');
        kind.value = 'role';
        kind.dispatchEvent(new Event('change'));
        const visible = Array.from(document.querySelectorAll('#entity-table tbody tr'))
            .filter(row => !row.hidden);
        const result = {count: visible.length,
                        onlyRoles: visible.every(row => row.dataset.kind === 'role'),
                        shown: document.getElementById('shown').textContent};
        kind.value = '';
        kind.dispatchEvent(new Event('change'));
        return result;
    })()""")
    if filtered != {"count": roles, "onlyRoles": True, "shown": str(roles)}:
        problems.append(f"kind filter: {filtered}, expected {roles} roles")
    if entities:
        needle = entities[-1]["name"]
        searched = browser.evaluate(session, f"""(() => {{
            const text = document.getElementById('filter-text');
            text.value = {json.dumps(needle)};
            text.dispatchEvent(new Event('input'));
            const visible = Array.from(document.querySelectorAll('#entity-table tbody tr'))
                .filter(row => !row.hidden).map(row => row.dataset.arn);
            text.value = '';
            text.dispatchEvent(new Event('input'));
            return visible;
        }})()""")
        if entities[-1]["arn"] not in searched:
            problems.append(f"searching {needle!r} did not show its row")
    ordered = browser.evaluate(session, """(() => {
        const header = Array.from(document.querySelectorAll('#entity-table thead th'))
            .find(th => th.textContent.trim() === 'Coverage');
        header.querySelector('button').click();
        const values = Array.from(document.querySelectorAll('#entity-table tbody tr'),
            row => Number(row.cells[header.cellIndex].dataset.v));
        const sorted = values.every((v, i) => i === 0 || values[i - 1] <= v);
        header.querySelector('button').click();
        return sorted && header.getAttribute('aria-sort') === 'descending';
    })()""")
    if not ordered:
        problems.append("sorting by coverage did not order the rows")
    browser.evaluate(session, "window.scrollTo(0, 0)")

    shot = browser.send("Page.captureScreenshot", {"format": "png"}, session)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    if docs_screenshot is not None:
        small = browser.send("Page.captureScreenshot", {
            "format": "png",
            "clip": {"x": 0, "y": 0, "width": 1280, "height": 900, "scale": 0.75}}, session)
        docs_screenshot.write_bytes(base64.b64decode(small["data"]))
    browser.send("Target.closeTarget", {"targetId": target})
    if problems:
        raise Failure(f"{page}: " + "; ".join(problems))
    return {"page": page.name, "entities": len(entities), "bytes": page.stat().st_size,
            "load_seconds": round(load_seconds, 2), "screenshot": str(screenshot)}


def run(binary: Path, args: list[str], ok_codes=(0,)) -> None:
    status = subprocess.run([str(binary), *args], env=ENV, stdout=subprocess.DEVNULL).returncode
    if status not in ok_codes:
        raise Failure(f"iamsweep {' '.join(args)} exited {status}")


def generated_scenario(entities: int, out: Path) -> Path:
    """A generated account of `entities` users, roles and groups (iamsim's scenario file)."""
    users, groups = entities // 5, max(1, entities // 20)
    scenario = out / f"generated-{entities}-scenario.json"
    with scenario.open("w") as file:
        subprocess.run([str(ROOT / "iamsim" / "generate"), "--users", str(users),
                        "--roles", str(entities - users - groups), "--groups", str(groups),
                        "--seed", "7"], stdout=file, check=True)
    return scenario


@contextlib.contextmanager
def serving(scenario: Path):
    """iamsim serving `scenario` on 127.0.0.1; yields its endpoint URL."""
    sim = subprocess.Popen([str(ROOT / "iamsim" / "serve"), "--scenario", str(scenario),
                            "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = sim.stdout.readline().strip()
        if not line.startswith("ready http://127.0.0.1:"):
            raise Failure(f"iamsim did not start: {line!r}")
        yield line.split()[1]
    finally:
        sim.terminate()
        sim.wait()


def audited_snapshot(binary: Path, endpoint: str, snapshot: Path) -> Path:
    """Audits the account iamsim serves at `endpoint` and saves its snapshot."""
    run(binary, ["audit", "--endpoint-url", endpoint, "--rate", "1000",
                 "--concurrency", "200", "--attribute", "--save-snapshot", str(snapshot),
                 "--format", "json", "--output", os.devnull])
    return snapshot


def plan_page(binary: Path, snapshot: Path, endpoint: str, name: str, out: Path) -> Path:
    """The `plan --format html` page of `snapshot`, against the live state iamsim serves (the
    state store in OUT, so that nothing lands in the current directory)."""
    page = out / f"{name}-plan.html"
    with page.open("w") as file:
        status = subprocess.run(
            [str(binary), "plan", "--snapshot", str(snapshot), "--endpoint-url", endpoint,
             "--rate", "1000", "--state", str(out / f"{name}-state"), "--format", "html"],
            env=ENV, stdout=file).returncode
    if status != 0:
        raise Failure(f"iamsweep plan exited {status}")
    return page


def pages(binary: Path, snapshot: Path, name: str, out: Path, check: bool) -> list[tuple]:
    """The JSON report and the HTML pages of `snapshot`: (page, report) pairs."""
    report_path = out / f"{name}.json"
    run(binary, ["audit", "--snapshot", str(snapshot), "--format", "json",
                 "--output", str(report_path)])
    report = json.loads(report_path.read_text())
    audit_page = out / f"{name}-audit.html"
    run(binary, ["audit", "--snapshot", str(snapshot), "--format", "html",
                 "--output", str(audit_page)])
    result = [(audit_page, report)]
    if check:
        check_page_path = out / f"{name}-check.html"
        with check_page_path.open("w") as file:
            status = subprocess.run([str(binary), "check", "--snapshot", str(snapshot),
                                     "--format", "html"], env=ENV, stdout=file).returncode
        if status not in (0, 1):
            raise Failure(f"iamsweep check exited {status}")
        result.append((check_page_path, report))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--entities", type=int, default=600)
    parser.add_argument("--snapshot", type=Path, help="a snapshot instead of a generated account")
    parser.add_argument("--scenario", type=Path,
                        help="with --snapshot: the iamsim scenario it was collected from, "
                             "served to make its plan page")
    parser.add_argument("--docs-screenshot", type=Path)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    todo = pages(args.binary, ROOT / "examples" / "demo-snapshot.json", "demo", args.out, True)
    name = f"large-{args.entities}" if not args.snapshot else "large"
    scenario = args.scenario if args.snapshot else generated_scenario(args.entities, args.out)
    large = args.snapshot
    with contextlib.ExitStack() as stack:
        endpoint = stack.enter_context(serving(scenario)) if scenario else None
        if large is None:
            large = audited_snapshot(args.binary, endpoint,
                                     args.out / f"generated-{args.entities}-snapshot.json")
        todo += pages(args.binary, large, name, args.out, False)
        if endpoint:
            todo.append((plan_page(args.binary, large, endpoint, name, args.out), todo[-1][1]))
    browser = Browser(args.chromium)
    results = []
    try:
        for index, (page, report) in enumerate(todo):
            docs = args.docs_screenshot if index == 0 else None
            result = check_page(browser, page, report, page.with_suffix(".png"), docs)
            print(json.dumps(result), flush=True)
            results.append(result)
    except Failure as failure:
        print(f"browser check failed: {failure}", file=sys.stderr)
        return 1
    finally:
        browser.close()
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
