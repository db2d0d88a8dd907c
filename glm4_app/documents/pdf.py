"""PDF text with pymupdf: plain text per page, each page opened by a ``[Page N]`` line.

Plain ``page.get_text()`` is the fastest extraction pymupdf has (pymupdf4llm's Markdown is
~15x slower) and keeps reading order well enough for chat. The page marker is ~4 tokens, so
even 2,000 pages cost little, and it lets the model answer "what does page 12 say" and cite
pages; the bracket style matches the ``[File Name]``/``[File Content]`` headers around it.
"""

from __future__ import annotations

from ..notices import Notice
from .base import Document, DocumentError, DocumentLimits, Progress, out_of_memory

PROGRESS_EVERY = 20  # pages


class ScannedPdf(DocumentError):
    """A PDF whose pages are pictures without a text layer: a vision model can read it."""


def page_marker(number: int) -> str:
    return f"[Page {number}]"


def read_pdf(name: str, data: bytes, limits: DocumentLimits, report: Progress) -> Document:
    import pymupdf  # imported here: it takes ~2 s (it loads its layout model's runtime)

    damaged = Notice("documents.damaged", name=name, kind=Notice("filetype.a_pdf"))
    try:
        pdf = pymupdf.open(stream=data, filetype="pdf")
    except Exception as exc:
        if out_of_memory(exc):
            raise
        raise DocumentError(damaged) from None
    with pdf:
        # MuPDF already tried the empty password; an owner-only password (printing/copying
        # restrictions) does not stop reading, and the user uploaded the file to read it.
        if pdf.needs_pass:
            raise DocumentError(Notice("documents.pdf_password", name=name))
        # MuPDF silently rebuilds a broken cross-reference table and then returns blank pages
        # for what was lost. A rebuilt file that does not end with %%EOF was cut off.
        if pdf.is_repaired and b"%%EOF" not in data[-2048:]:
            raise DocumentError(Notice("documents.pdf_cut_off", name=name))
        count = pdf.page_count
        if count > limits.max_pages:
            raise DocumentError(
                Notice("documents.too_many_pages", name=name, count=count, limit=limits.max_pages)
            )
        if count == 0:
            raise DocumentError(Notice("documents.pdf_no_pages", name=name))
        parts: list[str] = []
        empty = 0
        for index in range(count):
            try:
                text = pdf[index].get_text().strip()
            except Exception as exc:
                if out_of_memory(exc):
                    raise
                raise DocumentError(Notice("documents.pdf_page_damaged", name=name, number=index + 1)) from None
            empty += not text
            parts.append(f"{page_marker(index + 1)}\n{text}" if text else page_marker(index + 1))
            if (index + 1) % PROGRESS_EVERY == 0:
                report((index + 1) / count, Notice("documents.reading_page", number=index + 1, count=count))
        if empty == count:
            raise _no_text_error(name, pdf)
        notes = ()
        if pdf.is_repaired and empty:  # MuPDF rebuilt the file: the empty pages may be losses
            notes = (Notice("documents.pdf_repaired", name=name, empty=empty, count=count),)
    text = "\n\n".join(parts)
    return Document(name, "pdf", text, count, len(text), notes)


def _no_text_error(name: str, pdf) -> DocumentError:
    # Scans are pages that are one picture each; a few pages tell.
    if any(pdf[i].get_images() for i in range(min(pdf.page_count, 5))):
        return ScannedPdf(Notice("documents.pdf_scanned", name=name))
    return DocumentError(Notice("documents.no_text", name=name))
