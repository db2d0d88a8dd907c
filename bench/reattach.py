"""Re-attaching to an answer in progress vs asking anew, in a real browser.

The app (`streamlit run app.py`, the bundled offline model) and Debian's chromium, side by side
in one run, each round on the same idle model:

* new: open the page, send a question, until its first streamed token shows;
* re-attach: while an answer is being written, open its link in a fresh tab (a reload, a
  second device), until that tab shows the answer's text.

Both are timed from the start of the page load: what a person waits for, from opening the
page to reading the answer, when the answer was asked for anew or is already under way.
Re-attaching replays what was written and follows on; it must never be slower.

    python bench/reattach.py [--rounds 3] [--data-dir DIR_WITH_CONVERTED_MODEL]

Needs /usr/bin/chromium and playwright. Last line: reattach_ratio=<re-attach/new median>
(ceiling 1.0).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from browser_helpers import (  # noqa: E402
    chromium,
    expect,
    messages,
    offline_model_data_dir,
    run_server,
    send,
)

from glm4_app.backend.offline import ensure_converted  # noqa: E402

QUESTION = "What is the capital of France? Answer in one sentence."
LONG = "Write a long story about a lighthouse keeper and a storm. At least 400 words."
# The last bubble shows answer text (not only a caption or a button).
ANSWER_SHOWN = """n => {
    const all = document.querySelectorAll('[data-testid="stChatMessage"]');
    if (all.length < n) return false;
    return [...all[n - 1].querySelectorAll('[data-testid="stMarkdownContainer"]')]
        .some(md => !md.closest('button, [data-testid="stCaptionContainer"]')
                    && md.innerText.replace('▌', '').trim().length > 0);
}"""


def fresh_tab(browser):
    page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
    page.set_default_timeout(180_000)
    return page


def ask(page, question: str) -> None:
    """Send as soon as the chat box is there (once the page has loaded)."""
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=180_000)
    send(page, question)


def stop_and_close(page) -> None:
    stop = page.get_by_role("button", name="⏹ Stop")
    if stop.count():
        stop.click()
        expect(messages(page).nth(1)).to_contain_text("stopped", timeout=60_000)
    page.context.close()


def time_new(browser, url: str) -> float:
    page = fresh_tab(browser)
    started = time.perf_counter()
    page.goto(url)
    ask(page, QUESTION)
    page.wait_for_function(ANSWER_SHOWN, arg=2, polling=20)
    elapsed = time.perf_counter() - started
    stop_and_close(page)
    return elapsed


def time_reattach(browser, url: str) -> float:
    writer = fresh_tab(browser)
    writer.goto(url)
    ask(writer, LONG)
    writer.wait_for_function(ANSWER_SHOWN, arg=2, polling=20)
    link = writer.url
    writer.context.close()  # the tab goes; the answer goes on
    page = fresh_tab(browser)
    started = time.perf_counter()
    page.goto(link)
    page.wait_for_function(ANSWER_SHOWN, arg=2, polling=20)
    elapsed = time.perf_counter() - started
    stop_and_close(page)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, help="a data dir whose offline model is converted already")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = args.data_dir or tmp / "model"
        print("converting the offline model (once)…", flush=True)
        ensure_converted(model_dir)
        data_dir = offline_model_data_dir(model_dir, tmp / "data")
        env = {"GLM4_DATA_DIR": str(data_dir), "GLM4_CHAT_MODEL": "offline:smollm2", "GLM4_MAX_NEW_TOKENS": "300"}
        with run_server(env, tmp) as server, chromium() as browser:
            warm = fresh_tab(browser)
            warm.goto(server.url)
            ask(warm, QUESTION)  # loads the model and warms it up
            warm.wait_for_function(ANSWER_SHOWN, arg=2, polling=100)
            stop_and_close(warm)
            new, reattach = [], []
            for i in range(args.rounds):  # interleaved, so machine noise hits both alike
                new.append(time_new(browser, server.url))
                reattach.append(time_reattach(browser, server.url))
                print(f"round {i + 1}: new {new[-1]:.2f} s, re-attach {reattach[-1]:.2f} s", flush=True)
    new_s, reattach_s = statistics.median(new), statistics.median(reattach)
    print(f"page load to first answer text, median of {args.rounds}: new {new_s:.2f} s, re-attach {reattach_s:.2f} s")
    print(f"reattach_ratio={reattach_s / new_s:.2f}")


if __name__ == "__main__":
    main()
