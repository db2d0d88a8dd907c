"""The app as users run it, for end-to-end tests: a real server on a free loopback port
(`streamlit run app.py`, as scripts/run.sh starts it, or `uvicorn app:app`, as a team hosts
it), Playwright in Debian's chromium, and what a user does and reads there.

Shared by the browser and API tests, bench/reattach.py and bench/api_overhead.py.
Playwright's own browser download is never used; browser test modules skip when
/usr/bin/chromium or playwright is missing (the server helpers need neither).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright  # noqa: F401 (re-exported for tests)

    # A page rerun takes a moment on 2 busy cores (CI installs, a model decoding): what a
    # user would see within seconds gets 20 s, not Playwright's 5 s, before a test fails.
    expect.set_options(timeout=20_000)
except ImportError:  # the API tests and benchmarks only start servers
    PlaywrightError = Exception

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
STATS_MARK = "tokens of context"  # in the caption under every finished answer
needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) to run the browser test",
)


def scripted_env(data_dir: Path, replies: list[str]) -> dict[str, str]:
    """Settings for a server whose model is the scripted one, handing out ``replies`` one per
    request, keeping its data in ``data_dir`` and offering no user tools."""
    script = data_dir / "replies.json"
    script.write_text(json.dumps({"replies": replies}))
    return {
        "GLM4_DATA_DIR": str(data_dir),
        "GLM4_CHAT_MODEL": "scripted",
        "GLM4_SCRIPTED_REPLIES": str(script),
        "GLM4_TOOLS_DIR": str(data_dir / "no_user_tools"),
    }


def add_accounts(data_dir: Path, passwords: dict[str, str]) -> None:
    """An account for each name in ``passwords``, in the data folder a server will use."""
    from glm4_app.accounts import AccountStore

    accounts = AccountStore(data_dir / "conversations.sqlite3")
    for name, password in passwords.items():
        accounts.add_user(name, password)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def offline_model_data_dir(offline_data_dir: Path, data_dir: Path) -> Path:
    """``data_dir`` (fresh: no conversations) sharing the offline model converted once in
    ``offline_data_dir``, so the ~25 s GGUF conversion stays out of the page's load."""
    from glm4_app.backend.offline import FOLDER_NAME

    (data_dir / "models").mkdir(parents=True, exist_ok=True)
    link = data_dir / "models" / FOLDER_NAME
    if not link.exists():
        link.symlink_to(offline_data_dir / "models" / FOLDER_NAME, target_is_directory=True)
    return data_dir


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def cpu_seconds(self) -> float:
        """CPU time the server process has used so far (all its threads)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def run_server(env_overrides: dict, log_dir: Path, uvicorn: bool = False):
    """The app on a free loopback port with these GLM4_* settings: `streamlit run app.py`, or
    ``uvicorn`` `uvicorn app:app`. Ready as soon as Streamlit's runtime answers (the model
    may still be loading: it started with the server)."""
    port = free_port()
    log = log_dir / f"{'uvicorn' if uvicorn else 'streamlit'}-{port}.log"
    env = dict(
        os.environ,
        GLM4_DEVICE="cpu",
        HF_HUB_OFFLINE="1",
        STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
        STREAMLIT_SERVER_FILE_WATCHER_TYPE="none",
        **env_overrides,
    )
    if uvicorn:
        cmd = [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)]
    else:
        cmd = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.address", "127.0.0.1",
            "--server.port", str(port),
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
        ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}:\n{tail(log)}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer /_stcore/health in 90 s:\n{tail(log)}")
            time.sleep(0.1)
        yield Server(url, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        print(f"--- server log (tail) ---\n{tail(log)}")  # shown when a test fails


@contextmanager
def serve_app(env_overrides: dict, log_dir: Path, uvicorn: bool = False):
    """``run_server``, yielding only its URL."""
    with run_server(env_overrides, log_dir, uvicorn) as server:
        yield server.url


@contextmanager
def chromium():
    """Debian's chromium under Playwright; yields the browser (contexts are the caller's)."""
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


def new_page(browser, url: str, timeout_ms: int = 30_000, **context_options):
    """A browser context of its own (cookies, a Streamlit session), its page opened at ``url``."""
    context = browser.new_context(viewport={"width": 1280, "height": 1100}, **context_options)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    page.goto(url)
    return page


def sign_in(page, name: str, password: str) -> None:
    """Fill in and send the sign-in form the page shows."""
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def messages(page):
    return page.get_by_test_id("stChatMessage")


def send(page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_enabled()
    box.fill(text)
    box.press("Enter")


def answer_text(message) -> str:
    """The answer's words only: its markdown blocks, without captions and button labels."""
    text = message.evaluate(
        """el => [...el.querySelectorAll('[data-testid="stMarkdownContainer"]')]
            .filter(md => !md.closest('button, [data-testid="stCaptionContainer"]'))
            .map(md => md.innerText).join('\\n')"""
    )
    return text.replace("▌", "").strip()


def last_answer_text(page) -> str:
    """The text of the last chat bubble, or "" while it is being redrawn."""
    try:
        bubbles = messages(page)
        count = bubbles.count()
        return answer_text(bubbles.nth(count - 1)) if count else ""
    except PlaywrightError:
        return ""


def screenshot(page, name: str) -> None:
    """Keep a screenshot of ``page`` as ``name`` when GLM4_TEST_SCREENSHOT_DIR names a folder."""
    folder = os.environ.get("GLM4_TEST_SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / name))


def element_shot(locator, name: str) -> None:
    """Keep a screenshot of one element as ``name`` when GLM4_TEST_SCREENSHOT_DIR names a folder."""
    folder = os.environ.get("GLM4_TEST_SCREENSHOT_DIR")
    if folder:
        locator.scroll_into_view_if_needed()
        time.sleep(0.3)
        locator.screenshot(path=str(Path(folder) / name))


def finished(page, count: int):
    """Chat bubble number ``count``, once its answer is complete (its caption is there)."""
    bubble = messages(page).nth(count - 1)
    expect(bubble).to_contain_text(STATS_MARK, timeout=120_000)
    return bubble


def preview_card(page, title: str, nth: int = 0):
    """A preview card (ui/artifact_frame.js), by the title in its toolbar."""
    return page.locator(".card").filter(has=page.locator(".title", has_text=title)).nth(nth)


def preview_frame(page, title: str, nth: int = 0):
    return preview_card(page, title, nth).frame_locator("iframe")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def watch_answer(page, count: int, timeout: float = 180) -> list[int]:
    """Wait for message number `count` (the answer) to finish; return the answer lengths seen
    while it streamed."""
    lengths: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        bubbles = messages(page)
        if bubbles.count() >= count:
            last = bubbles.nth(count - 1)
            try:
                text = answer_text(last)
                done = STATS_MARK in last.inner_text(timeout=2_000)
            except PlaywrightError:
                continue  # the element was redrawn under us
            if text and (not lengths or lengths[-1] != len(text)):
                lengths.append(len(text))
            if done:
                return lengths
        time.sleep(0.1)  # polling faster steals CPU from the model on small machines
    raise AssertionError(f"answer {count} did not finish in {timeout:.0f} s; lengths seen: {lengths}")
