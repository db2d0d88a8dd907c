"""PDF text with pymupdf: plain text per page, each page opened by a ``[Page N]`` line.

Plain ``page.get_text()`` is the fastest extraction pymupdf has (pymupdf4llm's Markdown is
~15x slower) and keeps reading order well enough for chat. The page marker is ~4 tokens, so
even 2,000 pages cost little, and it lets the model answer "what does page 12 say" and cite
pages; the bracket style matches the ``[File Name]``/``[File Content]`` headers around it.
"""

from __future__ import annotations

from .base import Document, DocumentError, DocumentLimits, Progress, out_of_memory

PROGRESS_EVERY = 20  # pages


class ScannedPdf(DocumentError):
    """A PDF whose pages are pictures without a text layer: a vision model can read it."""


def page_marker(number: int) -> str:
    return f"[Page {number}]"


def read_pdf(name: str, data: bytes, limits: DocumentLimits, report: Progress) -> Document:
    import pymupdf  # imported here: it takes ~2 s (it loads its layout model's runtime)

    damaged = f"{name} is damaged and can't be read as a PDF."
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
            raise DocumentError(
                f"{name} is password-protected. Remove the password (e.g. save or print it as a "
                f"new PDF) and upload it again."
            )
        # MuPDF silently rebuilds a broken cross-reference table and then returns blank pages
        # for what was lost. A rebuilt file that does not end with %%EOF was cut off.
        if pdf.is_repaired and b"%%EOF" not in data[-2048:]:
            raise DocumentError(
                f"{name} is incomplete (the file is cut off, perhaps a partial download) and "
                f"can't be read reliably. Upload the complete file."
            )
        count = pdf.page_count
        if count > limits.max_pages:
            raise DocumentError(
                f"{name} has {count:,} pages; the limit is {limits.max_pages:,} pages per file."
            )
        if count == 0:
            raise DocumentError(f"{name} is damaged or empty: it has no pages.")
        parts: list[str] = []
        empty = 0
        for index in range(count):
            try:
                text = pdf[index].get_text().strip()
            except Exception as exc:
                if out_of_memory(exc):
                    raise
                raise DocumentError(
                    f"{name} is damaged: page {index + 1} can't be read."
                ) from None
            empty += not text
            parts.append(f"{page_marker(index + 1)}\n{text}" if text else page_marker(index + 1))
            if (index + 1) % PROGRESS_EVERY == 0:
                report((index + 1) / count, f"Reading page {index + 1} of {count}")
        if empty == count:
            raise _no_text_error(name, pdf)
        notes = ()
        if pdf.is_repaired and empty:  # MuPDF rebuilt the file: the empty pages may be losses
            notes = (
                f"{name} was damaged and had to be repaired to be read; {empty:,} of its "
                f"{count:,} pages came out without text, so some of the text may be missing.",
            )
    text = "\n\n".join(parts)
    return Document(name, "pdf", text, count, len(text), notes)


def _no_text_error(name: str, pdf) -> DocumentError:
    # Scans are pages that are one picture each; a few pages tell.
    if any(pdf[i].get_images() for i in range(min(pdf.page_count, 5))):
        return ScannedPdf(
            f"{name} has no text layer (it looks like a scan); OCR it first, e.g. with "
            f"OCRmyPDF, and upload the result."
        )
    return DocumentError(f"{name} contains no text.")
