"""Long document mode's extraction layer: uploaded bytes to text for the prompt, no Streamlit.

``extract`` decides what a file is from its content (magic bytes, zip members), not only its
name, and every bad file ends in a ``DocumentError`` whose notice says why (notices.py).
``format_for_prompt`` writes the documents as the GLM-4 reference demo did:
``[File Name]\\n{name}\\n[File Content]\\n{text}`` blocks joined by blank lines.

Parsers (pymupdf, python-docx, python-pptx, openpyxl) are imported on first use: pymupdf
alone takes ~2 s to import.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Iterable

from ..notices import Notice
from .base import (
    MAX_TEXT_CHARS,
    MB,
    CallbackError,
    Document,
    DocumentError,
    DocumentLimits,
    Progress,
    out_of_memory,
    reporter,
    size_text,
)
from .office import read_pptx, read_xlsx
from .word import read_docx
from .pdf import read_pdf
from .detect import open_office_zip, sniff
from .text import decode, read_text, text_kind

log = logging.getLogger(__name__)

__all__ = [
    "Document",
    "DocumentError",
    "DocumentLimits",
    "check_total",
    "extract",
    "format_for_prompt",
]

SUPPORTED = Notice("documents.supported")
# What a file is, as a refusal says it: bare ("is not a real PDF") and with its article.
_LABELS = {
    "pdf": Notice("filetype.pdf"),
    "docx": Notice("filetype.docx"),
    "pptx": Notice("filetype.pptx"),
    "xlsx": Notice("filetype.xlsx"),
}
_WITH_ARTICLE = {
    "pdf": Notice("filetype.a_pdf"),
    "docx": Notice("filetype.a_docx"),
    "pptx": Notice("filetype.a_pptx"),
    "xlsx": Notice("filetype.an_xlsx"),
    "": Notice("filetype.a_document"),
}
# Extensions that promise a binary container: text content under them is a mistake (e.g. a
# login page saved as report.pdf), never something to read as text.
_CLAIMS = {"pdf": "pdf", "docx": "docx", "docm": "docx", "pptx": "pptx", "pptm": "pptx",
           "xlsx": "xlsx", "xlsm": "xlsx"}
_READERS = {"pdf": read_pdf, "docx": read_docx, "pptx": read_pptx, "xlsx": read_xlsx}


def extract(
    name: str,
    data: bytes,
    limits: DocumentLimits = DocumentLimits(),
    progress: Progress | None = None,
) -> Document:
    """The text of one uploaded file, or DocumentError with a message for the user.

    ``progress(fraction, message)`` is called every 20 PDF pages or PPTX slides, per sheet,
    and with 1.0 at the end; an exception it raises propagates unchanged.
    """
    report = reporter(progress)
    try:
        document = _extract(name, data, limits, report)
        report(1.0, Notice("documents.read", name=name))
    except DocumentError:
        raise
    except CallbackError as wrapped:
        raise wrapped.__cause__ from None  # type: ignore[misc]
    except Exception as exc:
        if out_of_memory(exc):
            raise MemoryError(str(exc)) from None  # the worker's memory limit (doc_worker.py)
        # A bug here, not a bad file: keep the promise of DocumentError, keep the details.
        log.exception("extracting %s failed", name)
        raise DocumentError(Notice("documents.unexpected_error", name=name)) from None
    return document


def check_total(existing_bytes: int, new_bytes: int, limits: DocumentLimits) -> None:
    """Raise DocumentError if adding a file of new_bytes goes over the conversation's total."""
    total = existing_bytes + new_bytes
    if total > limits.max_total_mb * MB:
        raise DocumentError(Notice("documents.total_too_large", size=size_text(total), limit=limits.max_total_mb))


# GLM special tokens written as text. transformers' tokenizers turn such strings into the
# real special tokens, so a document quoting "<|user|>" would end the user turn. A zero-width
# space after the first character keeps them readable but ordinary text.
_SPECIAL = re.compile(r"<\|[a-z_]+\|>|\[[gs]?MASK\]|<[se]op>")


def _defuse(text: str) -> str:
    return _SPECIAL.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], text)


def format_for_prompt(documents: Iterable[Document]) -> str:
    """The documents as the reference demo's blocks, in the given order.

    A pure function of the documents, so the document part of the prompt stays
    byte-identical across turns and the prefix cache can reuse it.
    """
    blocks = []
    for document in documents:
        name = " ".join(document.name.split())  # a name is one line
        blocks.append(f"[File Name]\n{_defuse(name)}\n[File Content]\n{_defuse(document.text)}")
    return "\n\n".join(blocks)


# --- Dispatch ----------------------------------------------------------------------------


def _extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return base.rsplit(".", 1)[-1].lower() if "." in base else base.lower()


def _extract(name: str, data: bytes, limits: DocumentLimits, report: Progress) -> Document:
    if not data:
        raise DocumentError(Notice("documents.empty", name=name))
    if len(data) > limits.max_file_mb * MB:
        raise DocumentError(
            Notice("documents.file_too_large", name=name, size=size_text(len(data)), limit=limits.max_file_mb)
        )
    extension = _extension(name)
    claimed = _CLAIMS.get(extension)
    found = sniff(data)

    if found == "ole":
        raise DocumentError(Notice("documents.old_office", name=name))
    if isinstance(found, Notice):
        raise DocumentError(Notice("documents.wrong_kind", name=name, found=found, supported=SUPPORTED))
    if found is None:
        if claimed:
            raise DocumentError(
                Notice("documents.not_real", name=name, kind=_LABELS[claimed], extension=extension)
            )
        text = decode(data)
        if text is None:
            raise DocumentError(Notice("documents.binary", name=name, supported=SUPPORTED))
        return _non_empty(read_text(name, text, text_kind(extension, text)))

    kind = "pdf"
    if found == "zip":
        archive, kind = open_office_zip(name, data, _WITH_ARTICLE[claimed or ""])
        archive.close()  # the parsers open their own; this one only vouched for the sizes
        if kind is None:
            raise DocumentError(Notice("documents.plain_zip", name=name))
    try:
        document = _READERS[kind](name, data, limits, report)
    except (DocumentError, CallbackError):
        raise
    except Exception as exc:  # the parsers raise anything from KeyError to lxml errors on bad files
        if out_of_memory(exc):
            raise
        log.info("%s: %s parser failed", name, kind, exc_info=True)
        raise DocumentError(Notice("documents.damaged", name=name, kind=_WITH_ARTICLE[kind])) from None
    if claimed != kind and "." in name:  # e.g. a PDF named .docx: read it for what it is
        note = Notice("documents.read_as", name=name, kind=_WITH_ARTICLE[kind])
        document = replace(document, notes=(note, *document.notes))
    return _non_empty(document)


def _non_empty(document: Document) -> Document:
    if not document.text.strip():
        raise DocumentError(Notice("documents.no_text", name=document.name))
    if len(document.text) > MAX_TEXT_CHARS:
        note = Notice("documents.text_cut", count=MAX_TEXT_CHARS)
        text = document.text[:MAX_TEXT_CHARS]
        document = replace(document, text=text, chars=len(text), notes=(*document.notes, note))
    return document
