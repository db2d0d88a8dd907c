"""Documents for vision models: PDF (and PPTX, through an office suite) pages as images sent
to the tiny GLM-4.1V; a scanned PDF read page by page through it for Long document mode."""

from __future__ import annotations

import io
import os
import stat
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw

from glm4_app import doc_worker
from glm4_app.documents import DocumentLimits, extract
from glm4_app.documents.pdf import ScannedPdf
from glm4_app.documents_ocr import PROMPT, PageText, Reading, RecognitionError, clean, document_text, recognise
from glm4_app.events import Error, TextDelta
from glm4_app.generation import GenerationParams
from glm4_app.scripted import ScriptedBackend
from glm4_app.vision.pages import PagesError, render_pages

A4 = (595, 842)  # points


def text_pdf(pages: int = 3) -> bytes:
    pdf = pymupdf.open()
    for n in range(1, pages + 1):
        pdf.new_page(width=A4[0], height=A4[1]).insert_text((72, 100), f"Page {n} of the report.", fontsize=28)
    return pdf.tobytes()


def scanned_pdf(pages: int = 2) -> bytes:
    """What a scanner makes: each page one picture (of text), no text layer."""
    pdf = pymupdf.open()
    for n in range(1, pages + 1):
        picture = Image.new("RGB", (300, 200), "white")
        ImageDraw.Draw(picture).text((20, 80), f"Scanned page {n}", fill="black")
        buffer = io.BytesIO()
        picture.save(buffer, "PNG")
        pdf.new_page(width=A4[0], height=A4[1]).insert_image(pymupdf.Rect(0, 0, *A4), stream=buffer.getvalue())
    return pdf.tobytes()


def pptx_bytes() -> bytes:
    from pptx import Presentation

    deck = Presentation()
    for title in ("Plan", "Results"):
        deck.slides.add_slide(deck.slide_layouts[0]).shapes.title.text = title
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def test_pdf_pages_become_images_at_the_profile_resolution(tmp_path):
    paths = render_pages("report.pdf", text_pdf(3), tmp_path, dpi=180, max_side=2240)
    assert [p.name.rsplit("-", 1)[1] for p in paths] == ["page1.png", "page2.png", "page3.png"]
    with Image.open(paths[1]) as page:
        assert page.size == (round(A4[0] * 180 / 72), round(A4[1] * 180 / 72))  # 1488 x 2105
        dark = sum(1 for y in range(200, 300) for x in range(150, 600) if page.getpixel((x, y))[0] < 100)
        assert dark > 500  # the page's text is drawn, where the PDF puts it
    capped = render_pages("report.pdf", text_pdf(1), tmp_path / "small", dpi=180, max_side=1000)
    with Image.open(capped[0]) as page:
        assert max(page.size) == 1000  # the longest side uploads get


def test_each_page_is_on_disk_as_soon_as_the_worker_sends_it(tmp_path, monkeypatch):
    """A scan of hundreds of pages at 2240 px is gigabytes of PNG: each page is written when it
    arrives, never all of them held in the app until the last one is drawn. Seen from the app's
    thread: the pages on disk each time it waits for the worker's next frame."""
    on_disk: list[list[str]] = []
    receive = doc_worker.Worker.receive

    def watched(worker, *args, **kwargs):
        if threading.current_thread() is threading.main_thread():  # not a worker warming ahead
            on_disk.append(sorted(p.name.rsplit("-", 1)[1] for p in tmp_path.glob("*.png")))
        return receive(worker, *args, **kwargs)

    monkeypatch.setattr(doc_worker.Worker, "receive", watched)
    paths = render_pages("report.pdf", text_pdf(3), tmp_path, dpi=72, max_side=600)
    assert on_disk[-4:] == [[], ["page1.png"], ["page1.png", "page2.png"], ["page1.png", "page2.png", "page3.png"]]
    assert paths == sorted(tmp_path.glob("*.png"), key=lambda p: p.name) and len(paths) == 3


@pytest.mark.parametrize("name,data,words", [
    ("notes.docx", None, "not a PDF or a PowerPoint"),
    ("junk.pdf", b"%PDF-1.4 garbage", "damaged"),
    ("big.pdf", "pages", "at most 2 are sent"),
    ("deck.pptx", "pptx", "Save deck.pptx as PDF"),
], ids=["docx", "damaged", "too-many-pages", "pptx-without-office"])
def test_files_that_give_no_pages_say_why(tmp_path, monkeypatch, name, data, words):
    import docx

    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no office suite
    if data is None:
        buffer = io.BytesIO()
        docx.Document().save(buffer)
        data = buffer.getvalue()
    data = {"pages": text_pdf(3), "pptx": pptx_bytes()}.get(data, data)
    with pytest.raises(PagesError, match=words.replace(".", r"\.")):
        render_pages(name, data, tmp_path, dpi=72, max_side=500, max_pages=2)


def test_an_oversized_document_is_refused_before_it_is_opened(tmp_path):
    with pytest.raises(PagesError, match="2.0 MB; documents up to 1 MB are accepted"):
        render_pages("big.pdf", b"%PDF-1.7\n" + b" " * (2 * 2**20 - 9), tmp_path, dpi=72, max_side=500, max_mb=1)


def test_slides_are_drawn_by_the_office_suite_when_one_is_installed(tmp_path, monkeypatch):
    """A stand-in ``soffice`` on PATH writes the PDF LibreOffice would; the app asks for it
    headless into its own folder and draws the pages that come back."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "soffice"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib, pymupdf\n"
        "args = sys.argv[1:]\n"
        "assert args[:3] == ['--headless', '--convert-to', 'pdf'], args\n"
        "out, source = pathlib.Path(args[4]), pathlib.Path(args[5])\n"
        "assert source.read_bytes()[:2] == b'PK'\n"
        "pdf = pymupdf.open()\n"
        "[pdf.new_page(width=400, height=300) for _ in range(2)]\n"
        "pdf.save(out / (source.stem + '.pdf'))\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    paths = render_pages("deck.pptx", pptx_bytes(), tmp_path / "out", dpi=144, max_side=2240)
    assert len(paths) == 2
    with Image.open(paths[0]) as page:
        assert page.size == (800, 600)


def test_pdf_pages_reach_the_tiny_glm41v_as_images(tiny_vision, tmp_path):
    paths = [str(p) for p in render_pages("report.pdf", text_pdf(3), tmp_path, dpi=72, max_side=600)]
    message = {"role": "user", "content": "Summarise the report.", "images": paths, "pages": paths}
    ids, extra = tiny_vision.encode([message])
    assert extra["image_grid_thw"].shape[0] == 3
    one_page = tiny_vision.count_tokens([{**message, "images": paths[:1]}])
    assert tiny_vision.count_tokens([message]) - one_page == 2 * (one_page - tiny_vision.count_tokens([{"role": "user", "content": "Summarise the report."}]))
    events = list(tiny_vision.stream([message], GenerationParams(temperature=0, max_new_tokens=8)))
    assert not any(isinstance(e, Error) for e in events)
    assert events[-1].stats.prompt_tokens == len(ids)


def test_a_scanned_pdf_is_read_page_by_page_by_the_tiny_glm41v(tiny_vision, tmp_path):
    data = scanned_pdf(2)
    with pytest.raises(ScannedPdf):
        extract("scan.pdf", data, DocumentLimits())
    pages = render_pages("scan.pdf", data, tmp_path, tiny_vision.profile.page_dpi, 600)
    steps = list(recognise(pages, tiny_vision, GenerationParams(temperature=0, max_new_tokens=10, thinking=False)))
    read = [s for s in steps if isinstance(s, PageText)]
    assert [(p.page, p.pages) for p in read] == [(1, 2), (2, 2)]
    assert any(isinstance(s, Reading) and s.page == 2 and s.chars > 0 for s in steps)  # progress while reading
    for page, path in zip(read, pages):  # each page's text is what the model answers about that page alone
        request = [{"role": "user", "content": PROMPT, "images": [str(path)]}]
        alone = tiny_vision.stream(request, GenerationParams(temperature=0, max_new_tokens=10))
        assert page.text == clean("".join(e.text for e in alone if isinstance(e, TextDelta)))
    text = document_text(read, tiny_vision.profile.label)
    assert text.startswith("(Text recognised by GLM-4.1V from the scanned page images, all 2 pages;")
    assert text.index("[Page 1]") < text.index("[Page 2]")


class Watched:
    """The tiny model, answering page 1 in 3 tokens and page 2 at length; records whether each
    request ran to its end or was closed (Stop) before."""

    def __init__(self, backend):
        self.backend, self.ends = backend, []

    def stream(self, messages, params, tools=None, cache_key=None):
        n = len(self.ends)
        self.ends.append("open")
        inner = self.backend.stream(messages, replace(params, max_new_tokens=3 if n == 0 else 4000))
        try:
            yield from inner
            self.ends[n] = "finished"
        finally:
            inner.close()  # the vision backend cancels its engine request here
            if self.ends[n] == "open":
                self.ends[n] = "closed"


def test_stopping_a_reading_cancels_the_page_and_keeps_what_was_read(tiny_vision, tmp_path):
    pages = render_pages("scan.pdf", scanned_pdf(3), tmp_path, 72, 600)
    watched = Watched(tiny_vision)
    reading = recognise(pages, watched, GenerationParams(temperature=0))
    read = []
    for step in reading:
        if isinstance(step, PageText):
            read.append(step)
        if isinstance(step, Reading) and step.page == 2 and step.chars > 0:
            break  # the user clicks Stop in the middle of page 2
    reading.close()
    assert watched.ends == ["finished", "closed"] and len(read) == 1
    assert "pages 1-1 of 3" in document_text(read, "GLM-4.1V")
    # The engine is free again: the next request is served, not queued behind 4,000 tokens.
    events = list(tiny_vision.stream([{"role": "user", "content": "hi"}], GenerationParams(temperature=0, max_new_tokens=3)))
    assert events[-1].stats.completion_tokens == 3 and tiny_vision.engine.waiting == 0
    # Reading resumes where it stopped.
    rest = [s for s in recognise(pages, tiny_vision, GenerationParams(temperature=0, max_new_tokens=3), start=1)
            if isinstance(s, PageText)]
    assert [p.page for p in rest] == [2, 3]


def test_a_failing_page_names_itself():
    class Failing(ScriptedBackend):
        def stream(self, messages, params, tools=None, cache_key=None):
            yield Error("The model ran out of memory.", "oom")

    with pytest.raises(RecognitionError, match="Reading page 1 of 1 failed: The model ran out of memory"):
        list(recognise([Path("p1.png")], Failing([""])))


def test_page_text_drops_markup_but_keeps_the_words():
    assert clean("```\nTitle\n\n| a | b |\n```") == "Title\n\n| a | b |"
    assert clean("Total: <|begin_of_box|>42<|end_of_box|>") == "Total: 42"
