"""The cost of one page rerun (a click that changes nothing in the conversation) with a long,
branched conversation vs an empty one, on the same page, in one run.

The Long document page (AppTest, in process) served by a tiny random GLM with a trained
tokenizer and the real GLM-4 chat template, so token counts are real tokenizer work:

* loaded: a 100K-token document sent with the first question, 50 messages shown, 5 branches
  (answers regenerated and questions edited along the way), 12 conversations in the sidebar;
* empty: a new conversation on the same page, the same sidebar.

Each round clicks "Fixed seed" in both, one right after the other. A rerun's time is the CPU
time of the page script run (the thread Streamlit runs it on): what the server spends on the
click, which the load of other processes on a shared machine does not change much; the wall
time of the whole AppTest rerun is shown too. Also shown: the loaded rerun without the
token-count cache (what every click cost before it).

    python bench/rerun.py [--rounds 15] [--doc-tokens 100000]

Last line: rerun_ratio=<loaded / empty, medians of the script's CPU time> (ceiling 1.5).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from streamlit.testing.v1 import AppTest  # noqa: E402

from glm4_app import tree  # noqa: E402
from glm4_app.backend.chat_backend import InProcessChatBackend  # noqa: E402
from glm4_app.backend.engine import Engine  # noqa: E402
from glm4_app.backend.loader import load_model  # noqa: E402
from glm4_app.conversation import Conversation  # noqa: E402
from glm4_app.settings import Settings  # noqa: E402
from glm4_app.store import ConversationStore  # noqa: E402
from glm4_app.token_counts import COUNTS  # noqa: E402
from glm4_app.ui import chat_page, state  # noqa: E402
from tiny_models import build_tiny_checkpoint  # noqa: E402

OWNER = "bench"
ANSWER = "The report says revenue grew by **eight percent**; costs rose by three.\n\n- a point\n- another point"


def loaded_conversation(document: str) -> Conversation:
    """50 messages shown (25 turns), 5 branches: two regenerated answers, two edited questions."""
    c = Conversation(mode="documents", owner=OWNER)
    c.documents.append({"name": "report.txt", "kind": "text", "pages": 0, "text": document,
                        "bytes": len(document), "tokens": 0})
    for turn in range(25):
        c.add_user(f"Question {turn}: what does section {turn} of the report say about revenue?")
        c.add_answer(f"{ANSWER} ({turn})")
        if turn in (5, 15):  # a regenerated answer: the old one stays a version
            c.drop_last_answer()
            c.add_answer(f"{ANSWER} (again {turn})")
        if turn in (10, 20):  # an edited question: the old one and its answer stay
            tree.edit(c, len(c.messages) - 2, f"Question {turn}, put better: and the costs?")
            c.add_answer(f"{ANSWER} (edited {turn})")
    kids = tree.children(c)
    leaves = [m for m in [*c.messages, *c.others] if not kids.get(m.id)]
    assert len(c.messages) == 50 and len(leaves) == 5, (len(c.messages), len(leaves))
    return c


def open_page(conversation_id: str | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["u"] = OWNER
    if conversation_id:
        at.query_params["c"] = conversation_id
    at.switch_page("pages/documents.py").run()
    assert not at.exception, at.exception
    return at


_script = {"cpu": 0.0}


def _timed_page(page):
    def timed(name: str = "chat") -> None:
        started = time.thread_time()
        try:
            page(name)
        finally:
            _script["cpu"] = time.thread_time() - started

    return timed


def rerun(at: AppTest) -> tuple[float, float]:
    """(CPU time of the script run, wall time of the AppTest rerun) of one click."""
    box = at.checkbox(key="gen_fixed_seed")
    started = time.perf_counter()
    box.set_value(not box.value).run()
    elapsed = time.perf_counter() - started
    assert not at.exception, at.exception
    return _script["cpu"], elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--doc-tokens", type=int, default=100_000)
    args = parser.parse_args()
    logging.getLogger("streamlit").setLevel(logging.ERROR)

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GLM4_DATA_DIR"] = tmp
        path = build_tiny_checkpoint(Path(tmp) / "glm", "glm", "glm-4-9b-chat")
        loaded = load_model(str(path), Settings(chat_model=str(path)))
        engine = Engine(loaded.model, loaded.tokenizer, eos_token_ids=loaded.eos_token_ids, context_window=131_072)
        backend = InProcessChatBackend(loaded, engine)
        state.chat_backend = lambda settings: backend
        chat_page.page = _timed_page(chat_page.page)  # the page scripts import it on every run

        sentence = "The committee reviewed revenue, costs, the schedule and the risks of the project. "
        per_sentence = len(loaded.tokenizer.encode(sentence * 10, add_special_tokens=False)) / 10
        document = sentence * int(args.doc_tokens / per_sentence * 1.02)
        store = ConversationStore(Path(tmp) / "conversations.sqlite3")
        for i in range(11):
            other = Conversation(mode="documents", owner=OWNER)
            other.add_user(f"Another conversation {i}")
            store.save(other)
        big = loaded_conversation(document)
        store.save(big)
        prompt_tokens = backend.count_tokens(big.prompt_messages())
        assert prompt_tokens >= args.doc_tokens, prompt_tokens

        pages = {"loaded": open_page(big.id), "empty": open_page(None)}
        for at in pages.values():  # warm-up: the first run counts what the page shows
            rerun(at), rerun(at), rerun(at)
        cpu: dict[str, list[float]] = {"loaded": [], "empty": []}
        wall: dict[str, list[float]] = {"loaded": [], "empty": []}
        for _ in range(args.rounds):
            for name, at in pages.items():
                script, whole = rerun(at)
                cpu[name].append(script)
                wall[name].append(whole)
        COUNTS.count = lambda backend, messages, tools=None: backend.count_tokens(messages, tools)
        uncached = [rerun(pages["loaded"])[0] for _ in range(3)]
        engine.close()

    ms = lambda values: f"{statistics.median(values) * 1000:6.1f} ms"  # noqa: E731
    print(f"loaded conversation: {len(big.messages)} messages, {len(big.others)} more in 4 other branches, "
          f"prompt {prompt_tokens:,} tokens; {args.rounds} interleaved rounds (medians)")
    for name in cpu:
        print(f"rerun, {name:6}: script CPU {ms(cpu[name])}; whole AppTest rerun (wall) {ms(wall[name])}")
    print(f"rerun, loaded, without the token-count cache: script CPU {ms(uncached)}")
    print(f"rerun_ratio={statistics.median(cpu['loaded']) / statistics.median(cpu['empty']):.2f}")


if __name__ == "__main__":
    main()
