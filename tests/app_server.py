"""The app as users run it, for end-to-end tests: a real server on a free loopback port
(`streamlit run app.py`, as scripts/run.sh starts it, or `uvicorn app:app`, as a team hosts
it) and Debian's chromium driven by Playwright (never Playwright's own browser download)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser test",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def serve_app(env_overrides: dict, log_dir: Path, uvicorn: bool = False):
    """The app on a free loopback port with these GLM4_* settings; yields its URL as soon as
    Streamlit's runtime answers (the model may still be loading: it started with the server)."""
    port = free_port()
    log = log_dir / ("uvicorn.log" if uvicorn else "streamlit.log")
    env = dict(
        os.environ,
        GLM4_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",
        **env_overrides,
    )
    if uvicorn:
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            "app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    else:
        cmd = [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ]
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode}:\n{tail(log)}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /_stcore/health in 90 s:\n{tail(log)}")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        print(f"--- server log (tail) ---\n{tail(log)}")  # shown when the test fails


@contextmanager
def chromium():
    """Debian's chromium under Playwright; yields the browser (contexts are the test's)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def browser_page(url: str):
    """A Playwright page in Debian's chromium, opened at ``url``."""
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 1300})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(url)
        yield page
