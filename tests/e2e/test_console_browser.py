"""The console in a real browser (Debian's Chromium through Playwright) on the embedded stack.

One journey, as a partner and an admin would make it: sign up -> confirm -> create the
organisation -> configure the test environment with the sample partner's URL -> API token ->
submit -> an admin approves -> routing becomes live -> send a test event -> the sample partner
shows it and answers with statuses; then the filter preview matches it, and a test event to a
failing endpoint is dead-lettered, shown with its error, and redriven. Screenshots of the
main pages go to the git-ignored `test-artifacts/screenshots/` for a reviewer.

The stack runs in its own process (`python -m tests.e2e.test_console_browser`, `main` below),
on free ports, next to a tiny control server through which the test does what the partner
would do on its own server: tell the sample partner the API key it chose and its API token.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
START_TIMEOUT = 180
PASSWORD = "Browser-Partner-2026"
API_KEY = "browser-partner-delivery-key-0123456789"

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


# --- the stack process ----------------------------------------------------------------------


def _control(stack: Any):
    """POST /accounts {name, api_key, tokens}: the sample partner learns a partner's key."""
    from werkzeug.wrappers import Request, Response

    from infra.local.sample_partner import Account

    def app(environ, start_response):
        request = Request(environ)
        if request.method == "POST" and request.path == "/accounts":
            body = request.get_json(force=True)
            stack.sample_partner.add_account(Account(name=str(body["name"]),
                                                     api_key=str(body["api_key"]),
                                                     tokens=dict(body.get("tokens") or {})))
            return Response('{"ok": true}', content_type="application/json")(environ,
                                                                             start_response)
        return Response("not found", status=404)(environ, start_response)

    return app


def main() -> int:
    """Run the embedded stack (with its demo admin) until SIGINT or SIGTERM."""
    from infra.local.servers import ServerThread
    from infra.local.stack import EmbeddedStack, Ports, StackOptions

    parser = argparse.ArgumentParser()
    for name in ("aws", "console", "api", "sample-partner", "control"):
        parser.add_argument(f"--{name}-port", type=int, required=True)
    parser.add_argument("--ready-file", type=Path, required=True)
    arguments = parser.parse_args()
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    ports = Ports(aws=arguments.aws_port, console=arguments.console_port,
                  api=arguments.api_port, sample_partner=arguments.sample_partner_port)
    stack = EmbeddedStack(ports, StackOptions(demo_file=None, status_delay=0.2)).start()
    control = ServerThread(_control(stack), arguments.control_port, name="control").start()
    try:
        from infra.local.demo import write_demo_file

        write_demo_file(arguments.ready_file, {**stack.demo, "control": control.url,
                                               "console": stack.console_url,
                                               "sample_partner": stack.sample_partner_url})
        stopped.wait()
    finally:
        control.stop()
        stack.stop()
    return 0


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path_factory):
    from infra.local.servers import free_port

    folder = tmp_path_factory.mktemp("console-stack")
    ready = folder / "ready.json"
    command = [sys.executable, "-m", "tests.e2e.test_console_browser", "--ready-file", str(ready)]
    for name in ("aws", "console", "api", "sample-partner", "control"):
        command += [f"--{name}-port", str(free_port())]
    environment = {**os.environ, "PGW_LOCAL_BACKOFF_SCALE": "0.01",
                   "POWERTOOLS_LOG_LEVEL": "WARNING"}
    log_path = folder / "stack.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=log,
                                   stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while not ready.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the stack did not start:\n" + log_path.read_text()[-4000:])
            time.sleep(0.2)
        try:
            yield json.loads(ready.read_text())
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _no_console_errors(messages: list[str]) -> None:
    """CSP violations and script errors show up in the browser console."""
    assert [m for m in messages if "Content Security Policy" in m or "Uncaught" in m] == []


# --- the journey ----------------------------------------------------------------------------


def test_a_partner_onboards_is_approved_and_receives_a_test_event(stack, browser):
    from playwright.sync_api import expect

    console = stack["console"]
    email = "browser.partner@example.com"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))

    # Sign up; the password policy is the user pool's.
    page.goto(f"{console}/auth/signup")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat the password").fill("short")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".error").first).to_contain_text("at least 12 characters")
    _shot(page, "01-signup-error")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()

    # Confirm with the emailed code (moto accepts any code for ConfirmSignUp).
    expect(page).to_have_url(re.compile(r"/auth/confirm"))
    page.get_by_label("Confirmation code").fill("123456")
    page.get_by_role("button", name="Confirm").click()

    # Log in, create the organisation.
    expect(page).to_have_url(re.compile(r"/auth/login"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/partners/new"))
    page.get_by_label("Organisation name").fill("Browser Freight")
    page.get_by_label("Short name (slug)").fill("browser-freight")
    page.get_by_role("button", name="Create organisation").click()
    expect(page.locator("h1")).to_have_text("Browser Freight")
    partner_url = page.url
    partner_id = partner_url.rstrip("/").rsplit("/", 1)[-1]
    _shot(page, "02-organisation")

    # Configure the test environment: push to the sample partner with an API key.
    page.goto(f"{partner_url}/environments/test/settings")
    page.get_by_label("Push: we POST each request to your endpoint").check()
    page.get_by_label("Endpoint URL").fill(f"{stack['sample_partner']}/deliveries")
    page.get_by_label("Endpoint authentication").select_option("API_KEY")
    page.get_by_label("Header name").fill("X-Api-Key")
    page.get_by_label("New credential").fill(API_KEY)
    page.get_by_label("Retry attempts").fill("2")
    page.get_by_label("Give up after (seconds)").fill("60")
    _shot(page, "03-environment-settings")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".flash-success")).to_contain_text("test settings saved")
    expect(page.locator("#routing-status")).to_contain_text("not yet submitted", timeout=30_000)
    page.goto(f"{partner_url}/environments/test/settings")
    expect(page.locator("#credential-state")).to_contain_text("set on")
    assert API_KEY not in page.content()

    # An API token for the partner API: shown once, copied into the partner's own system.
    page.goto(f"{partner_url}/environments/test/tokens")
    page.get_by_label("Name").fill("sample-partner")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#issued-token").input_value()
    assert token.startswith("pgw_test_")
    _shot(page, "04-token-shown-once")
    requests.post(f"{stack['control']}/accounts", json={
        "name": "browser-freight", "api_key": API_KEY, "tokens": {"test": token}},
        timeout=10).raise_for_status()

    # A request filter, previewed first.
    page.goto(f"{partner_url}/environments/test/filter")
    page.get_by_label("Request types").fill("*")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#preview")).to_contain_text("compiled EventBridge event pattern")
    _shot(page, "05-filter-preview")

    # Submit for approval.
    page.goto(partner_url)
    page.locator("#submit-for-approval").click()
    expect(page.locator("#partner-status")).to_contain_text("pending approval")

    # An admin approves, after checking the endpoint.
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = admin_context.new_page()
    admin.set_default_timeout(20_000)
    admin.on("console", lambda message: messages.append(message.text))
    admin.goto(f"{console}/auth/login")
    admin.get_by_label("Email").fill(stack["admin"]["email"])
    admin.get_by_label("Password").fill(stack["admin"]["password"])
    admin.get_by_role("button", name="Log in").click()
    expect(admin.locator("h1")).to_have_text("Awaiting approval")
    admin.get_by_role("link", name="Browser Freight").click()
    admin.locator("#check-endpoint").click()
    expect(admin.locator("ul.checks")).to_contain_text("Answers with the configured auth")
    _shot(admin, "06-admin-partner-check")
    admin.locator("#approve").click()
    expect(admin.locator("#partner-status")).to_contain_text("approved")

    # Routing becomes live: the environment page polls its status fragment.
    page.goto(f"{partner_url}/environments/test")
    expect(page.locator("#routing-status")).to_contain_text("live", timeout=60_000)
    _shot(page, "07-environment-live")

    # Send a test event; it reaches the sample partner, which answers with statuses.
    page.get_by_label("Request type").fill("stock.check")
    page.get_by_label("Attributes (JSON object)").fill('{"region": "eu-west"}')
    page.locator("#send-test-event").click()
    expect(page).to_have_url(re.compile(r"/test-events/test-"))
    request_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("#test-event-outcome")).to_have_attribute(
        "data-state", "acknowledged", timeout=60_000)
    _shot(page, "08-test-event-acknowledged")
    received = requests.get(f"{stack['sample_partner']}/received",
                            params={"request_id": request_id}, timeout=10).json()
    assert [d["account"] for d in received["deliveries"]] == ["browser-freight"]
    sample = context.new_page()
    sample.goto(stack["sample_partner"])
    expect(sample.locator("body")).to_contain_text(request_id)
    _shot(sample, "09-sample-partner")

    # The filter preview now has a request to test against (EventBridge's TestEventPattern).
    page.goto(f"{partner_url}/environments/test/filter")
    page.get_by_label("Request types").fill("stock.check")
    page.get_by_label("Attribute of condition 1").fill("region")
    page.get_by_label("Operator of condition 1").select_option("prefix")
    page.get_by_label("Values of condition 1").fill("eu-")
    # The request list is the `requests` view, built from the request log's stream: it is
    # eventually consistent (as on AWS), so the preview is asked again until the view has it.
    # The stream is polled every 0.05 s, but the projector's first batch is its cold start
    # (importing the handler: about 0.7 s on an idle machine, a few times that under load).
    deadline = time.monotonic() + 10
    while True:
        page.get_by_role("button", name="Preview").click()
        if "1 of your last 1" in page.locator("#preview").inner_text() or \
                time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    expect(page.locator("#preview")).to_contain_text("1 of your last 1")
    _shot(page, "10-filter-preview-matches")

    # The endpoint fails: the test event is retried, dead-lettered, shown, and redriven.
    requests.post(f"{stack['sample_partner']}/mode", json={"mode": "fail500"},
                  timeout=10).raise_for_status()
    page.goto(f"{partner_url}/environments/test")
    page.get_by_label("Request type").fill("stock.check")
    page.locator("#send-test-event").click()
    expect(page).to_have_url(re.compile(r"/test-events/test-"))
    failed_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("#test-event-outcome")).to_have_attribute(
        "data-state", "failed", timeout=90_000)
    _shot(page, "11-test-event-failed")
    requests.post(f"{stack['sample_partner']}/mode", json={"mode": "ok"},
                  timeout=10).raise_for_status()
    page.goto(f"{partner_url}/environments/test/failures")
    expect(page.locator("table")).to_contain_text(failed_id)
    _shot(page, "12-failed-deliveries")
    page.get_by_label(f"Select the failure of {failed_id}").check()
    page.get_by_role("button", name="Redrive selected").click()
    expect(page.locator(".flash-success")).to_contain_text("Redrove 1 delivery")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        redelivered = requests.get(f"{stack['sample_partner']}/received",
                                   params={"request_id": failed_id}, timeout=10).json()
        if redelivered["deliveries"]:
            break
        time.sleep(0.5)
    assert [d["account"] for d in redelivered["deliveries"]] == ["browser-freight"]

    # The rest of the partner's screens, for the reviewer.
    for name, path in (("13-usage", "usage"), ("14-environment-overview", "")):
        page.goto(f"{partner_url}/environments/test/{path}".rstrip("/"))
        _shot(page, name)
    for name, path in (("15-admin-audit", "/admin/audit"), ("16-admin-health", "/admin/health"),
                       ("17-admin-quotas", "/admin/quotas")):
        admin.goto(f"{console}{path}")
        _shot(admin, name)
    expect(admin.locator("body")).to_contain_text("rules per bus")
    _no_console_errors(messages)
    admin_context.close()
    context.close()
    assert partner_id.startswith("p")


if __name__ == "__main__":
    sys.exit(main())
