"""Overhead of the app's PDF extraction over bare pymupdf text extraction.

A 300-page PDF (a few paragraphs on each page) is generated, then timed two ways:

* app: ``glm4_app.doc_worker.extract``, as the upload page calls it: the bytes go to a warm
  worker process, which sniffs the type, checks, writes page markers and progress, and sends
  the text back (the hop included).
* bare: ``pymupdf.open`` and ``page.get_text()`` for every page, joined, in this process.

Rounds interleave the two so that machine noise hits both alike; the median of each is
compared. pymupdf is imported before timing, so its ~2 s import counts for neither.

    python bench/extract.py [--pages 300] [--rounds 7]

Last line: extract_overhead_ratio=<app median / bare median> (ceiling 1.2).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pymupdf  # noqa: E402

from glm4_app import doc_worker  # noqa: E402
from glm4_app.documents import DocumentLimits  # noqa: E402

PARAGRAPH = (
    "The committee reviewed the budget, the schedule and the risks of the project. "
    "Costs rose by {n} percent in the third quarter, mostly for hardware and travel. "
)


def make_pdf(pages: int) -> bytes:
    pdf = pymupdf.open()
    for n in range(1, pages + 1):
        page = pdf.new_page()
        page.insert_textbox(page.rect + (54, 54, -54, -54), PARAGRAPH.format(n=n) * 12, fontsize=10)
    return pdf.tobytes()


def bare(data: bytes) -> str:
    with pymupdf.open(stream=data, filetype="pdf") as pdf:
        return "\n".join(page.get_text() for page in pdf)


def app(data: bytes) -> str:
    return doc_worker.extract("report.pdf", data, DocumentLimits(), lambda fraction, message: None).text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    data = make_pdf(args.pages)
    assert "Costs rose by 7 percent" in app(data)  # same work: the text really is there
    bare(data)  # warm both paths (fonts, caches) before timing
    times: dict[str, list[float]] = {"app": [], "bare": []}
    for _ in range(args.rounds):
        for label, run in (("bare", bare), ("app", app)):
            start = time.perf_counter()
            run(data)
            times[label].append(time.perf_counter() - start)

    app_s, bare_s = statistics.median(times["app"]), statistics.median(times["bare"])
    print(f"pdf: {args.pages} pages, {len(data) / 1e6:.1f} MB, {args.rounds} rounds")
    print(f"bare pymupdf get_text: median {bare_s * 1000:.1f} ms  ({_list(times['bare'])})")
    print(f"app extract:           median {app_s * 1000:.1f} ms  ({_list(times['app'])})")
    doc_worker.POOL.close()
    print(f"extract_overhead_ratio={app_s / bare_s:.3f}")


def _list(values: list[float]) -> str:
    return ", ".join(f"{v * 1000:.0f}" for v in values) + " ms"


if __name__ == "__main__":
    main()
