"""Hostile uploads through the app's own path (doc_worker.extract): each ends within its deadline
or cap with a clear message, the app's memory stays flat, and other users' streams go on.

The files are built by tests/hostile_files.py at sizes that fit CI but would, read in the app
process as before, take minutes (or gigabytes) and freeze every stream meanwhile.
"""

from __future__ import annotations

import io
import threading
import time

import docx
import psutil
import pptx
import pymupdf
import pytest
from PIL import Image

from glm4_app import doc_worker
from glm4_app.documents import DocumentError, DocumentLimits
from glm4_app.documents.pdf import ScannedPdf
from glm4_app.vision.pages import PagesError, render_pages
from hostile_files import (
    big_xml_docx,
    inflating_pdf,
    lying_member_docx,
    many_styles_docx,
    nested_forms_pdf,
    noisy_html,
    repaired_pdf,
)

pytestmark = pytest.mark.timeout(120)

LIMITS = DocumentLimits()
MARGIN_S = 8  # killing and reporting, on a loaded 2-core machine


@pytest.fixture(scope="module", autouse=True)
def warm_pool():
    doc_worker.warm()
    yield
    doc_worker.POOL.close()


def read(name: str, data: bytes, timeout_s: float = 20, memory_mb: int = 512):
    return doc_worker.extract(name, data, LIMITS, None, timeout_s=timeout_s, memory_mb=memory_mb)


def refused(name: str, data: bytes, **kwargs) -> tuple[str, float]:
    start = time.monotonic()
    with pytest.raises(DocumentError) as caught:
        read(name, data, **kwargs)
    return str(caught.value), time.monotonic() - start


class MemoryWatch:
    """The app process's peak resident memory while a block runs (sampled every 20 ms)."""

    def __enter__(self):
        self.process = psutil.Process()
        self.before = self.peak = self.process.memory_info().rss
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self):
        while self.running:
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.02)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()

    @property
    def grew_mb(self) -> float:
        return (self.peak - self.before) / 2**20


# --- the deadline and the memory limit -------------------------------------------------------------


def test_a_pdf_that_takes_minutes_is_refused_at_the_deadline():
    data = nested_forms_pdf(26)  # 2**26 drawings: many minutes of MuPDF, 5 KB of file
    with MemoryWatch() as memory:
        message, took = refused("forms.pdf", data, timeout_s=2)
    assert message == "forms.pdf took too long to read (over 2 s); nothing was added."
    assert took < 2 + MARGIN_S
    assert memory.grew_mb < 50
    assert read("ok.pdf", _small_pdf()).text.startswith("[Page 1]\nHello"), "the next upload is read"


def test_a_pdf_that_inflates_to_gigabytes_is_refused_at_the_memory_limit():
    data = inflating_pdf(400)  # ~1.6 MB of file, 400 MB of page content to lay out
    with MemoryWatch() as memory:
        message, took = refused("inflating.pdf", data, memory_mb=256)
    assert "inflating.pdf" in message and "needed too much memory" in message, message
    assert "256 MB" in message and "nothing was added" in message
    assert took < 20 + MARGIN_S
    assert memory.grew_mb < 50, "the app process holds none of it"


def _small_pdf() -> bytes:
    pdf = pymupdf.open()
    pdf.new_page().insert_text((72, 72), "Hello")
    return pdf.tobytes()


def test_progress_comes_through_the_worker_and_a_stop_abandons_the_read():
    pdf = pymupdf.open()
    for number in range(45):
        pdf.new_page().insert_text((72, 72), f"Page {number}")
    data = pdf.tobytes()
    calls = []
    doc_worker.extract("long.pdf", data, LIMITS, lambda f, m: calls.append((round(f, 3), m)))
    calls = [(fraction, str(message)) for fraction, message in calls]
    assert calls == [(round(20 / 45, 3), "Reading page 20 of 45"), (round(40 / 45, 3), "Reading page 40 of 45"), (1.0, "Read long.pdf")]

    class Stop(Exception):  # what Streamlit raises in a script the user navigated away from
        pass

    def stop(fraction, message):
        raise Stop()

    with pytest.raises(Stop):
        doc_worker.extract("long.pdf", data, LIMITS, stop)
    assert read("again.pdf", data).pages == 45, "the next upload gets a working reader"


# --- Word and zip -------------------------------------------------------------------------------


def test_a_docx_with_thousands_of_styles_reads_in_linear_time():
    document = read("styles.docx", many_styles_docx(2000, 20000), timeout_s=10)
    assert document.text.startswith("Paragraph 0\n\nParagraph 1") and "Paragraph 1999" in document.text


def test_a_docx_with_many_mib_of_xml_is_read_within_the_deadline_and_capped():
    data = big_xml_docx(12)  # 12 MiB of XML at an ordinary ratio (python-docx: minutes)
    with MemoryWatch() as memory:
        document = read("long.docx", data, timeout_s=30)
    assert document.text.startswith("The committee reviewed the budget, line 0.")
    assert len(document.text) == 4_000_000 and document.chars == 4_000_000
    assert [str(n) for n in document.notes] == ["Only its first 4,000,000 characters were kept."]
    assert memory.grew_mb < 100  # the text (4 MB) and its copies


def test_a_zip_member_that_lies_about_its_size_is_refused_without_inflating_it():
    data = lying_member_docx(300)  # declares 2,000 bytes, inflates to 300 MB
    with MemoryWatch() as memory:
        message, took = refused("lying.docx", data, memory_mb=256)
    assert message == (
        "lying.docx contains a part that unpacks to more than the 2,000 bytes it declares; it "
        "was not opened because it looks like a zip bomb."
    )
    assert memory.grew_mb < 50 and took < 10


def test_nested_docx_tables_are_kept():
    document = docx.Document()
    outer = document.add_table(rows=2, cols=2)
    outer.cell(0, 0).text, outer.cell(0, 1).text = "Region", "Detail"
    outer.cell(1, 0).text = "North"
    inner = outer.cell(1, 1).add_table(rows=2, cols=2)
    for r, row in enumerate([("Month", "Sales"), ("May", "120")]):
        for c, value in enumerate(row):
            inner.cell(r, c).text = value
    out = io.BytesIO()
    document.save(out)
    text = read("nested.docx", out.getvalue()).text
    assert text == (
        "| Region | Detail |\n|---|---|\n| North |  |\n\n"
        "(Table inside the table above, row 2, column 2:)\n\n"
        "| Month | Sales |\n|---|---|\n| May | 120 |"
    )


# --- HTML, PDF repairs, empty decks -----------------------------------------------------------------


def test_html_goes_through_the_web_page_caps():
    data = noisy_html(3)  # 3 MB of markup ending in 50,000 unclosed <script> tags
    document = read("page.html", data, timeout_s=30)
    assert document.text.startswith("# Quarterly figures\n\n# Figures\n\nRevenue rose.")
    assert [str(n) for n in document.notes] == ["Only the first 1,000,000 characters of its markup were read."]


def test_a_repaired_pdf_says_that_pages_came_out_empty():
    document = read("repaired.pdf", repaired_pdf())
    assert "Text of page 1." in document.text and "Text of page 3." in document.text
    assert "Text of page 2." not in document.text
    assert [str(n) for n in document.notes] == [
        "repaired.pdf was damaged and had to be repaired to be read; 1 of its 3 pages came out "
        "without text, so some of the text may be missing."
    ]


def test_a_scan_stays_a_scan_across_the_worker():
    """Long document offers a scanned PDF to the vision model (ui/scanned.py): the worker's
    answer must still say that it is a scan, not only in words."""
    picture = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(picture, "PNG")
    pdf = pymupdf.open()
    pdf.new_page().insert_image(pymupdf.Rect(0, 0, 300, 200), stream=picture.getvalue())
    with pytest.raises(ScannedPdf, match="no text layer"):
        read("scan.pdf", pdf.tobytes())
    assert read("again.pdf", _small_pdf()).text.endswith("Hello"), "the worker stays usable"


def test_a_presentation_without_text_says_so():
    deck = pptx.Presentation()
    for _ in range(3):
        deck.slides.add_slide(deck.slide_layouts[6])  # blank
    out = io.BytesIO()
    deck.save(out)
    message, _ = refused("pictures.pptx", out.getvalue())
    assert message == "pictures.pptx contains no text (pictures on slides are not read)."


# --- other users keep streaming -----------------------------------------------------------------------


# --- PDF pages drawn for a vision model (Vision mode, scanned documents) ---------------------------


def test_a_pdf_page_that_takes_minutes_to_draw_is_refused_at_the_deadline(tmp_path):
    folder = tmp_path / "pages"
    start = time.monotonic()
    with MemoryWatch() as memory, pytest.raises(PagesError) as caught:
        render_pages("forms.pdf", nested_forms_pdf(26), folder, dpi=72, max_side=500, timeout_s=2)
    assert str(caught.value) == "Drawing a page of forms.pdf took too long (over 2 s); nothing was attached."
    assert time.monotonic() - start < 2 + MARGIN_S
    assert memory.grew_mb < 50
    assert not folder.exists() or not any(folder.iterdir()), "nothing half-drawn is attached"
    pages = render_pages("ok.pdf", _small_pdf(), folder, dpi=72, max_side=500)
    assert [Image.open(page).size for page in pages] == [(354, 500)], "the next document is drawn"


def test_other_users_go_on_while_a_hostile_page_is_drawn(tmp_path):
    """MuPDF holds the GIL while it draws: drawn in the app process, this page stopped every
    thread (every user's stream) for as long as it took."""
    ticks, running = [], True

    def tick():
        while running:
            ticks.append(time.monotonic())
            time.sleep(0.01)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        with pytest.raises(PagesError):
            render_pages("forms.pdf", nested_forms_pdf(24), tmp_path, dpi=72, max_side=500, timeout_s=3)
    finally:
        running = False
        ticker.join()
    gaps = [later - earlier for earlier, later in zip(ticks, ticks[1:])]
    assert max(gaps) < 0.5, f"other threads stood still for {max(gaps):.2f} s"


def test_pages_of_a_long_pdf_each_get_the_whole_deadline(tmp_path):
    pdf = pymupdf.open()
    for number in range(12):
        pdf.new_page().insert_text((72, 72), f"Page {number + 1}")
    pages = render_pages("long.pdf", pdf.tobytes(), tmp_path, dpi=144, max_side=1200, timeout_s=1)
    assert len(pages) == 12 and all(page.read_bytes().startswith(b"\x89PNG") for page in pages)


def test_a_concurrent_answer_keeps_streaming_while_a_hostile_file_is_read(tiny_glm):
    """The largest pause between a concurrent answer's tokens while a hostile upload is read,
    against the same answer's with nothing else running. The file is markup whose cleaning
    held the GIL for minutes in the app process (a regex never lets go of it): every stream
    stopped. In a worker process the app's thread only waits on a pipe."""
    from glm4_app.backend.engine import Engine

    engine = Engine(tiny_glm.model, tiny_glm.tokenizer, eos_token_ids=[], context_window=tiny_glm.context_window)
    ids = tiny_glm.tokenizer.apply_chat_template(
        [{"role": "user", "content": "Tell me a long story."}], add_generation_prompt=True
    )["input_ids"]
    try:
        quiet = largest_gap(engine, ids, seconds=1.5)
        documents = []
        reader = threading.Thread(target=lambda: documents.append(read("page.html", noisy_html(3))))
        reader.start()
        time.sleep(0.2)  # the worker is busy by now (it needs ~2 s)
        busy = largest_gap(engine, ids, seconds=1.5)
        reader.join()
    finally:
        engine.close()
    assert documents and documents[0].text.startswith("# Quarterly figures")
    assert busy < 1.0 + 3 * quiet, f"largest gap {busy:.3f} s with the upload, {quiet:.3f} s without"


def largest_gap(engine, ids, seconds: float) -> float:
    """Stream for ``seconds`` and return the longest wait between two streamed events."""
    from glm4_app.generation import GenerationParams

    request = engine.submit(ids, GenerationParams(temperature=0, max_new_tokens=3500))
    gaps, last, start = [], None, time.monotonic()
    for _ in request.events():
        now = time.monotonic()
        if last is not None:
            gaps.append(now - last)
        last = now
        if now - start > seconds:
            request.cancel()
            break
    return max(gaps)


def test_warming_on_every_page_rerun_starts_at_most_one_worker_and_backs_off(monkeypatch):
    """The documents panel asks for a warm worker on every rerun: that must cost nothing
    while one is starting, and a worker that cannot start is not retried on every click."""
    pool = doc_worker.Pool()
    started = []

    def fail_slowly():
        started.append(1)
        time.sleep(0.2)
        raise OSError("no worker here")

    monkeypatch.setattr(doc_worker, "_started", fail_slowly)
    for _ in range(20):  # twenty reruns while the first start is under way
        pool.warm()
    deadline = time.monotonic() + 5
    while pool._warming and time.monotonic() < deadline:
        time.sleep(0.02)
    for _ in range(20):  # and twenty after it failed
        pool.warm()
    time.sleep(0.1)
    assert len(started) == 1
