"""A PDF or a slide deck as page images, for vision models that read documents by looking.

PDF pages are drawn with pymupdf in a document worker process (deadline and memory limit as
for reading a document), at the checkpoint profile's resolution (the GLM-V reference demo
uses 180 dpi), each capped at the longest side uploads get. A PPTX is first
converted to PDF by LibreOffice when an office suite is installed (as the reference demo
does); without one there is nothing that can draw a slide, and the message says so. Every
failure is a ``PagesError`` whose notice says why; the files land in the
conversation's image folder. No Streamlit, no torch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..documents import DocumentError
from ..documents.detect import open_office_zip, sniff
from ..notices import Notice, NoticeError

EXTENSIONS = ["pdf", "pptx"]
CONVERT_TIMEOUT_S = 120
MAX_PAGES = 100  # a limit on work and disk; the context window usually binds much earlier


class PagesError(NoticeError, ValueError):
    """Why this file gives no pages, for the user."""


def office_suite() -> str | None:
    """The LibreOffice executable, if one is installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_pages(
    name: str, data: bytes, folder: Path, dpi: int, max_side: int,
    max_pages: int = MAX_PAGES, max_mb: int = 50, timeout_s: float = 30, memory_mb: int = 1024,
) -> list[Path]:
    """The pages of a PDF or PPTX as PNG files in ``folder``, in order. ``timeout_s`` and
    ``memory_mb`` bound the drawing of each page, as for reading a document."""
    if len(data) > max_mb * 2**20:
        raise PagesError(Notice("pages.too_large", name=name, size=f"{len(data) / 2**20:.1f}", limit=max_mb))
    kind = sniff(data)
    if kind == "zip":
        try:  # checked for zip bombs before anything unpacks it
            archive, office = open_office_zip(name, data, Notice("filetype.a_pptx"))
        except DocumentError as err:
            raise PagesError(err.notice) from None
        archive.close()
        if office != "pptx":
            raise PagesError(Notice("pages.not_pdf_or_pptx", name=name))
        data = _pptx_to_pdf(name, data)
    elif kind != "pdf":
        raise PagesError(Notice("pages.not_pdf_or_pptx", name=name))
    return _render_pdf(name, data, folder, dpi, max_side, max_pages, timeout_s, memory_mb)


def _render_pdf(name: str, data: bytes, folder: Path, dpi: int, max_side: int, max_pages: int,
                timeout_s: float, memory_mb: int) -> list[Path]:
    """Drawn in a document worker (doc_worker.py): MuPDF holds the GIL while it draws, and a
    page built to take minutes or gigabytes would otherwise stop every user's stream."""
    from .. import doc_worker

    stem = hashlib.sha256(data).hexdigest()[:16]
    paths: list[Path] = []

    def save(number: int, image: bytes) -> None:  # as each page comes: a long scan is gigabytes
        if number == 1:
            folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{stem}-page{number}.png"
        path.write_bytes(image)
        paths.append(path.resolve())

    try:
        doc_worker.draw_pages(name, data, dpi, max_side, max_pages, save, timeout_s, memory_mb)
    except DocumentError as err:
        raise PagesError(err.notice) from None
    return paths


def page_images(name: str, data: bytes, dpi: int, max_side: int, max_pages: int) -> Iterator[bytes]:
    """The pages of a PDF as PNG bytes, one at a time (run in a document worker)."""
    import pymupdf  # ~2 s to import: only when a document is attached

    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except Exception:
        raise PagesError(Notice("documents.damaged", name=name, kind=Notice("filetype.a_pdf"))) from None
    with pdf:
        if pdf.needs_pass:
            raise PagesError(Notice("pages.password", name=name))
        if pdf.page_count == 0:
            raise PagesError(Notice("pages.none", name=name))
        if pdf.page_count > max_pages:
            raise PagesError(Notice("pages.too_many", name=name, count=pdf.page_count, limit=max_pages))
        for index, page in enumerate(pdf):
            longest = max(page.rect.width, page.rect.height) or 1
            zoom = min(dpi / 72, max_side / longest)  # 72 points an inch
            try:
                pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            except Exception:
                raise PagesError(Notice("pages.page_damaged", name=name, page=index + 1)) from None
            yield pixmap.tobytes("png")


def _pptx_to_pdf(name: str, data: bytes) -> bytes:
    suite = office_suite()
    if suite is None:
        raise PagesError(Notice("pages.no_office_suite", name=name))
    with tempfile.TemporaryDirectory(prefix="glm4-slides-") as tmp:
        source = Path(tmp) / "slides.pptx"
        source.write_bytes(data)
        try:
            subprocess.run(
                [suite, "--headless", "--convert-to", "pdf", "--outdir", tmp, str(source)],
                check=True, capture_output=True, timeout=CONVERT_TIMEOUT_S,
                # A profile of its own: a desktop LibreOffice that is open does not block it.
                env={"HOME": tmp, "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            )
            return (Path(tmp) / "slides.pdf").read_bytes()
        except subprocess.TimeoutExpired:
            raise PagesError(Notice("pages.slides_timeout", name=name, seconds=CONVERT_TIMEOUT_S)) from None
        except (subprocess.CalledProcessError, OSError):
            raise PagesError(Notice("pages.slides_failed", name=name)) from None
