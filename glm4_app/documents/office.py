"""PowerPoint and Excel files (OOXML), read after detect.open_office_zip checked them (Word:
word.py).

Tables become Markdown tables, titles ``#`` lines: structure the model reads easily and that
costs few tokens. The reference demo dropped PPTX tables and notes.
"""

from __future__ import annotations

import io

from ..notices import Notice
from .base import (
    MAX_TABLE_ROWS,
    Document,
    DocumentError,
    DocumentLimits,
    Progress,
    cell_text,
    markdown_table,
    rows_note,
    trim_row,
)

PROGRESS_EVERY = 20  # slides


# --- PowerPoint ------------------------------------------------------------------------


def read_pptx(name: str, data: bytes, limits: DocumentLimits, report: Progress) -> Document:
    import pptx

    presentation = pptx.Presentation(io.BytesIO(data))
    slides = presentation.slides
    count = len(slides)
    if count > limits.max_pages:
        raise DocumentError(
            Notice("documents.too_many_slides", name=name, count=count, limit=limits.max_pages)
        )
    parts, has_text = [], False
    for number, slide in enumerate(slides, 1):
        lines = [f"[Slide {number}]"]
        title = slide.shapes.title
        if title is not None and title.text_frame.text.strip():
            lines.append("# " + " ".join(title.text_frame.text.split()))
        for shape in _reading_order(slide.shapes):
            if title is not None and shape.shape_id == title.shape_id:
                continue
            lines.extend(_shape_text(shape))
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            if notes is not None and notes.text.strip():
                lines.append("Speaker notes: " + notes.text.strip())
        has_text = has_text or len(lines) > 1
        parts.append("\n".join(lines))
        if number % PROGRESS_EVERY == 0:
            report(number / count, Notice("documents.reading_slide", number=number, count=count))
    if not has_text:  # slide markers alone are no document
        raise DocumentError(Notice("documents.no_text_on_slides", name=name))
    text = "\n\n".join(parts)
    return Document(name, "pptx", text, count, len(text))


def _reading_order(shapes) -> list:
    # Shapes are stored in z-order; people read top to bottom, left to right.
    return sorted(shapes, key=lambda s: (s.top or 0, s.left or 0))


def _shape_text(shape) -> list[str]:
    from pptx.shapes.group import GroupShape

    # isinstance, not shape.shape_type: that raises for graphic frames python-pptx doesn't know.
    if isinstance(shape, GroupShape):  # its children, in reading order
        return [line for child in _reading_order(shape.shapes) for line in _shape_text(child)]
    if getattr(shape, "has_table", False):
        table = markdown_table(
            [[cell_text(c.text) for c in row.cells] for row in shape.table.rows]
        )
        return [table] if table else []
    if getattr(shape, "has_text_frame", False):
        return [p for p in (para.text.strip() for para in shape.text_frame.paragraphs) if p]
    return []


# --- Excel -------------------------------------------------------------------------------


def read_xlsx(name: str, data: bytes, limits: DocumentLimits, report: Progress) -> Document:
    import openpyxl

    # read_only streams rows instead of building every cell object; data_only gives the
    # values Excel last computed for formulas (what the user sees), not the formulas.
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    notes = []
    try:
        sheets = book.worksheets  # chart sheets have no cells and are left out
        parts = []
        for number, sheet in enumerate(sheets, 1):
            rows, more = [], False
            for values in sheet.iter_rows(values_only=True):
                row = trim_row(values)
                if not row:
                    continue
                if len(rows) == MAX_TABLE_ROWS + 1:  # + 1: the header row
                    more = True
                    break
                rows.append(row)
            table = markdown_table(rows)
            if not table:
                continue
            part = f"[Sheet: {sheet.title}]\n{table}"
            if more:
                total = sheet.max_row  # from the sheet's declared dimension; may be None
                note = rows_note(MAX_TABLE_ROWS, total - 1 if total else None)
                part += f"\n({note})"  # the model reads English (str of a notice)
                notes.append(Notice("documents.sheet_note", sheet=sheet.title, note=note))
            parts.append(part)
            report(number / len(sheets), Notice("documents.reading_sheet", number=number, count=len(sheets)))
    finally:
        book.close()  # read-only workbooks keep the archive open until closed
    text = "\n\n".join(parts)
    return Document(name, "xlsx", text, None, len(text), tuple(notes))
