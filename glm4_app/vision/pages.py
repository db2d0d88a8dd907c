"""A PDF or a slide deck as page images, for vision models that read documents by looking.

PDF pages are rendered with pymupdf at the checkpoint profile's resolution (the GLM-V
reference demo uses 180 dpi), each capped at the longest side uploads get. A PPTX is first
converted to PDF by LibreOffice when an office suite is installed (as the reference demo
does); without one there is nothing that can draw a slide, and the message says so. Every
failure is a ``PagesError`` whose message is shown as is; the files land in the
conversation's image folder. No Streamlit, no torch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..documents import DocumentError
from ..documents.detect import open_office_zip, sniff

EXTENSIONS = ["pdf", "pptx"]
CONVERT_TIMEOUT_S = 120
MAX_PAGES = 100  # a limit on work and disk; the context window usually binds much earlier


class PagesError(ValueError):
    """A message for the user: why this file gives no pages."""


def office_suite() -> str | None:
    """The LibreOffice executable, if one is installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def render_pages(
    name: str, data: bytes, folder: Path, dpi: int, max_side: int,
    max_pages: int = MAX_PAGES, max_mb: int = 50,
) -> list[Path]:
    """The pages of a PDF or PPTX as PNG files in ``folder``, in order."""
    if len(data) > max_mb * 2**20:
        raise PagesError(f"{name} is {len(data) / 2**20:.1f} MB; documents up to {max_mb} MB are accepted.")
    kind = sniff(data)
    if kind == "zip":
        try:  # checked for zip bombs before anything unpacks it
            archive, office = open_office_zip(name, data, "a PowerPoint presentation")
        except DocumentError as err:
            raise PagesError(str(err)) from None
        archive.close()
        if office != "pptx":
            raise PagesError(f"{name} is not a PDF or a PowerPoint presentation (.pptx).")
        data = _pptx_to_pdf(name, data)
    elif kind != "pdf":
        raise PagesError(f"{name} is not a PDF or a PowerPoint presentation (.pptx).")
    return _render_pdf(name, data, folder, dpi, max_side, max_pages)


def _render_pdf(name: str, data: bytes, folder: Path, dpi: int, max_side: int, max_pages: int) -> list[Path]:
    import pymupdf  # ~2 s to import: only when a document is attached

    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except Exception:
        raise PagesError(f"{name} is damaged and can't be read as a PDF.") from None
    with pdf:
        if pdf.needs_pass:
            raise PagesError(f"{name} is password-protected. Remove the password and upload it again.")
        if pdf.page_count == 0:
            raise PagesError(f"{name} has no pages.")
        if pdf.page_count > max_pages:
            raise PagesError(
                f"{name} has {pdf.page_count:,} pages; at most {max_pages} are sent as images. "
                "Split it, or read it as text in Long document mode."
            )
        folder.mkdir(parents=True, exist_ok=True)
        stem = hashlib.sha256(data).hexdigest()[:16]
        paths = []
        for index, page in enumerate(pdf):
            longest = max(page.rect.width, page.rect.height) or 1
            zoom = min(dpi / 72, max_side / longest)  # 72 points an inch
            try:
                pixmap = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
            except Exception:
                raise PagesError(f"{name} is damaged: page {index + 1} can't be drawn.") from None
            path = folder / f"{stem}-page{index + 1}.png"
            pixmap.save(str(path))
            paths.append(path.resolve())
    return paths


def _pptx_to_pdf(name: str, data: bytes) -> bytes:
    suite = office_suite()
    if suite is None:
        raise PagesError(
            f"Slides can only be drawn by an office suite, and none is installed here. Save "
            f"{name} as PDF (File > Export in PowerPoint) and attach that, or install LibreOffice "
            "on the server (Debian: apt-get install libreoffice-impress)."
        )
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
            raise PagesError(
                f"Drawing the slides of {name} took over {CONVERT_TIMEOUT_S} s; save it as PDF and "
                "attach that."
            ) from None
        except (subprocess.CalledProcessError, OSError):
            raise PagesError(
                f"LibreOffice could not draw the slides of {name}; save it as PDF and attach that."
            ) from None
