"""The shared pieces: limits, the result type, the one error type, and table rendering."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..notices import Notice, NoticeError

MB = 1024 * 1024  # what Streamlit's upload limit and most file managers call a megabyte

Progress = Callable[[float, Notice], None]

# Characters of text kept from one file: about a million tokens, far more than any model's
# context (which "Shorten" then fits), and a bound on what one upload costs to move, store
# and count.
MAX_TEXT_CHARS = 4_000_000

# Rows of one table (a sheet, a CSV file) sent to the model. The whole prompt is at most
# 128K tokens; 2,000 rows of a typical sheet are already ~30-60K of them.
MAX_TABLE_ROWS = 2000


@dataclass(frozen=True)
class DocumentLimits:
    max_file_mb: int = 50
    max_total_mb: int = 200  # all documents of one conversation together
    max_pages: int = 2000  # PDF pages or PPTX slides


@dataclass(frozen=True)
class Document:
    name: str
    kind: str  # pdf, docx, pptx, xlsx, csv, html, json, markdown, code or text
    text: str
    pages: int | None  # PDF pages or PPTX slides; None for formats without pages
    chars: int
    # Things the user may want to know that are not errors, e.g. "read as PDF" or "rows cut".
    notes: tuple[Notice, ...] = ()


class DocumentError(NoticeError, ValueError):
    """A file that cannot be read; its notice says why, in one or two sentences."""


_NO_MEMORY = re.compile(r"\b(?:malloc|calloc|realloc)\b.*\bfailed|out of memory", re.I)


def out_of_memory(exc: BaseException) -> bool:
    """Whether a parser failed for want of memory (MuPDF reports it as RuntimeError): the
    reader must let it through as such, not call the file damaged."""
    return isinstance(exc, MemoryError) or (
        isinstance(exc, RuntimeError) and bool(_NO_MEMORY.search(str(exc)))
    )


class CallbackError(Exception):
    """Carries an exception raised by the caller's progress callback through the readers.

    Readers turn unexpected library exceptions into "damaged file" errors; an exception
    from the callback (e.g. Streamlit stopping the script) must instead reach the caller as is.
    """


def reporter(progress: Progress | None) -> Progress:
    def report(fraction: float, message: Notice) -> None:
        if progress is None:
            return
        try:
            progress(min(max(fraction, 0.0), 1.0), message)
        except BaseException as exc:  # noqa: BLE001 - re-raised unchanged by extract()
            raise CallbackError() from exc

    return report


def size_text(n_bytes: int) -> str:
    return f"{n_bytes / MB:.1f} MB" if n_bytes >= MB // 10 else f"{n_bytes:,} bytes"


def cell_text(value: Any) -> str:
    """A spreadsheet/CSV/table cell as compact text: 3.0 -> 3, dates without 00:00:00."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    # A Markdown row is one line and `|` separates cells.
    return " ".join(str(value).split()).replace("|", "\\|")


def markdown_table(rows: Iterable[list[str]]) -> str:
    """Rows of cell strings as a Markdown table; the first row is the header.

    Models read Markdown tables well, and the header separator tells them which row names
    the columns. Rows are padded to the widest one; fully empty rows are dropped.
    """
    rows = [r for r in rows if any(r)]
    if not rows:
        return ""
    width = max(len(r) for r in rows)
    lines = []
    for i, row in enumerate(rows):
        cells = list(row) + [""] * (width - len(row))
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "---|" * width)
    return "\n".join(lines)


def trim_row(values: Iterable[Any]) -> list[str]:
    """Cells as text without the empty ones at the end (sheets report blank formatted cells)."""
    cells = [cell_text(v) for v in values]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def rows_note(shown: int, total: int | None) -> Notice:
    """Said under a cut table, in the text the model reads (English) and to the user."""
    if total is not None and total > shown:
        return Notice("documents.rows_cut", shown=shown, total=total)
    return Notice("documents.rows_cut_unknown_total", shown=shown)
