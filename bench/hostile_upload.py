"""A concurrent answer's largest pause between tokens while hostile files are read, vs none.

The same greedy answer of a GLM-shaped random model (GlmForCausalLM, ~12M parameters, the
real chat template) streams twice through the engine: once alone, once while the upload path
(``glm4_app.doc_worker.extract``) reads two hostile files one after the other: a Word file
with 40 MiB of XML (python-docx took minutes on such files, and parsed them while holding the
GIL) and a 5 KB PDF of nested drawings that MuPDF would read for many minutes (refused at
the deadline). Both runs stream for as long as the reading takes.

    python bench/hostile_upload.py [--docx-mib 40] [--timeout 30]

Last line: stream_gap_ratio=<largest gap with the uploads / largest gap without> (ceiling 2).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from glm4_app import doc_worker  # noqa: E402
from glm4_app.backend.engine import Engine  # noqa: E402
from glm4_app.backend.loader import load_model  # noqa: E402
from glm4_app.documents import DocumentError, DocumentLimits  # noqa: E402
from glm4_app.generation import GenerationParams  # noqa: E402
from glm4_app.settings import Settings  # noqa: E402
from hostile_files import big_xml_docx, nested_forms_pdf  # noqa: E402
from tiny_models import BENCH_SHAPE, build_tiny_checkpoint  # noqa: E402


def stream(engine: Engine, ids: list[int], until: threading.Event | float) -> tuple[float, int]:
    """(largest gap between two decoding steps, steps) of one answer, streamed until ``until``
    is set (or for that many seconds). Steps, not text events: a random model's tokens are
    often incomplete characters that show no text for a while."""
    stamps: list[float] = []
    hook = engine.model.register_forward_hook(lambda *_: stamps.append(time.monotonic()))
    request = engine.submit(ids, GenerationParams(temperature=0, max_new_tokens=100_000))
    start = time.monotonic()
    try:
        for _ in request.events():
            now = time.monotonic()
            if until.is_set() if isinstance(until, threading.Event) else now - start > until:
                request.cancel()
                break
    finally:
        hook.remove()
    return max(b - a for a, b in zip(stamps[1:], stamps[2:])), len(stamps)  # prefill left out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docx-mib", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    docx_data, pdf_data = big_xml_docx(args.docx_mib), nested_forms_pdf(26)
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_checkpoint(Path(tmp) / "glm", "glm", "glm-4-9b-chat", **BENCH_SHAPE)
        loaded = load_model(str(path), Settings(chat_model=str(path)))
        # A context window the answer never reaches, however long the reading takes.
        engine = Engine(loaded.model, loaded.tokenizer, eos_token_ids=[], context_window=1 << 20)
        ids = loaded.tokenizer.apply_chat_template(
            [{"role": "user", "content": "Tell me a long story."}], add_generation_prompt=True
        )["input_ids"]
        doc_worker.warm()
        stream(engine, ids, 1.0)  # warm-up: first-call allocations

        results: list[str] = []
        reading = threading.Event()

        def upload() -> None:
            start = time.monotonic()
            for name, data in (("report.docx", docx_data), ("drawing.pdf", pdf_data)):
                try:
                    document = doc_worker.extract(name, data, DocumentLimits(), None, args.timeout, 1024)
                    results.append(f"{name}: read, {len(document.text):,} characters")
                except DocumentError as error:
                    results.append(f"{name}: {error}")
            results.append(f"reading took {time.monotonic() - start:.1f} s")
            reading.set()

        time.sleep(1.0)  # the warm worker is up
        reader = threading.Thread(target=upload)
        reader.start()
        busy, busy_events = stream(engine, ids, reading)
        reader.join()
        seconds = float(results[-1].split()[2])
        quiet, quiet_events = stream(engine, ids, seconds)
        engine.close()
        doc_worker.POOL.close()

    print(f"uploads: {args.docx_mib} MiB-of-XML .docx ({len(docx_data) / 1e6:.1f} MB), "
          f"nested-forms .pdf ({len(pdf_data):,} bytes), deadline {args.timeout:g} s")
    for line in results:
        print("  " + line)
    print(f"while reading: {busy_events} steps, largest gap {busy * 1000:.1f} ms")
    print(f"alone:         {quiet_events} steps, largest gap {quiet * 1000:.1f} ms")
    print(f"stream_gap_ratio={busy / quiet:.3f}")


if __name__ == "__main__":
    main()
