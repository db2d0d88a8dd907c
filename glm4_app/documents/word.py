"""Word (.docx) text straight from the XML, in one pass whose cost grows with the file only.

python-docx looks a paragraph's style up among all styles for every paragraph, so a file
with many paragraphs and many styles (1,000 x 20,000 in a 142 KB file) took minutes, and it
builds an object tree of the whole document first. Here styles are read once into a dict,
and the body is streamed block by block (``lxml.iterparse``, entities not expanded, no
network, no huge text nodes), each block freed once written.

Paragraphs keep headings as ``#`` lines and list items as ``- ``; tables become Markdown
tables, and a table nested in a cell follows its table as a table of its own (python-docx's
cell text left nested tables out). A vertically merged cell repeats its text in each row it
spans, as it reads on the page.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from typing import IO, Iterator

from ..notices import Notice
from .base import MAX_TEXT_CHARS, Document, DocumentLimits, Progress, cell_text, markdown_table

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_OFFICE_DOCUMENT = "/officeDocument"
_STYLES = "/styles"
_HEADING = re.compile(r"heading (\d)$", re.I)
_SKIPPED = {W + "txbxContent", _MC_FALLBACK, W + "del", W + "instrText"}
_CHARS = {W + "tab": "\t", W + "br": "\n", W + "cr": "\n", W + "noBreakHyphen": "-"}
PROGRESS_EVERY = 500  # blocks


def read_docx(name: str, data: bytes, limits: DocumentLimits, report: Progress) -> Document:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        main = _target(archive, "_rels/.rels", _OFFICE_DOCUMENT) or "word/document.xml"
        styles_part = _target(archive, _rels_of(main), _STYLES)
        styles = _style_names(archive, styles_part) if styles_part else {}
        info = archive.getinfo(main)
        with archive.open(info) as member:
            counted = _Counting(member)
            blocks, chars = [], 0
            for number, element in enumerate(_body_blocks(counted), 1):
                for block in _block(element, styles):
                    blocks.append(block)
                    chars += len(block) + 2
                if chars > MAX_TEXT_CHARS:
                    break  # what follows would be cut anyway (documents.extract says so)
                if number % PROGRESS_EVERY == 0 and info.file_size:
                    report(counted.read_bytes / info.file_size, Notice("documents.reading", name=name))
    text = "\n\n".join(b for b in blocks if b)
    return Document(name, "docx", text, None, len(text))


# --- the package -------------------------------------------------------------------------------


def _parse(source: IO[bytes]):
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    return etree.parse(source, parser).getroot()


def _rels_of(part: str) -> str:
    folder, file = posixpath.split(part)
    return posixpath.join(folder, "_rels", file + ".rels")


def _target(archive: zipfile.ZipFile, rels: str, kind: str) -> str | None:
    """The part a relationship of type ``...kind`` in ``rels`` points at."""
    try:
        with archive.open(rels) as f:
            root = _parse(f)
    except KeyError:
        return None
    base = posixpath.dirname(posixpath.dirname(rels))  # rels of word/x.xml live in word/_rels
    for rel in root.iter(_REL):
        if rel.get("Type", "").endswith(kind) and rel.get("TargetMode") != "External":
            target = rel.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.join(base, target)
            return posixpath.normpath(path)
    return None


def _style_names(archive: zipfile.ZipFile, part: str) -> dict[str, str]:
    """Style id -> its name (lower case), read once."""
    try:
        with archive.open(part) as f:
            root = _parse(f)
    except KeyError:
        return {}
    names = {}
    for style in root.iter(W + "style"):
        name = style.find(W + "name")
        if name is not None:
            names[style.get(W + "styleId", "")] = name.get(W + "val", "").lower()
    return names


class _Counting(io.RawIOBase):
    """A member stream that counts the bytes read from it, for progress."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner, self.read_bytes = inner, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.read_bytes += len(data)
        return len(data)


def _body_blocks(source: IO[bytes]) -> Iterator:
    """Each child of <w:body> once it is complete; freed after the caller is done with it."""
    from lxml import etree

    depth = 0
    events = etree.iterparse(
        source, events=("start", "end"), resolve_entities=False, no_network=True, huge_tree=False
    )
    for event, element in events:
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth == 2:  # document > body > this
            yield element
            element.clear()
            parent = element.getparent()
            while parent is not None and len(parent) and parent[0] is not element:
                del parent[0]


# --- blocks -----------------------------------------------------------------------------------


def _block(element, styles: dict[str, str]) -> list[str]:
    tag = element.tag
    if tag == W + "p":
        text = _paragraph_text(element).strip()
        return [_prefix(element, styles) + text] if text else []
    if tag == W + "tbl":
        return _table(element)
    if tag == W + "sdt":  # a content control: its content is ordinary blocks
        content = element.find(W + "sdtContent")
        children = content if content is not None else []
        return [block for child in children for block in _block(child, styles)]
    return []


def _paragraph_text(paragraph) -> str:
    parts = []
    stack = list(reversed(paragraph))
    while stack:
        node = stack.pop()
        tag = node.tag
        if tag in _SKIPPED or not isinstance(tag, str):
            continue
        if tag == W + "t":
            parts.append(node.text or "")
        elif tag in _CHARS:
            parts.append(_CHARS[tag])
        else:
            stack.extend(reversed(node))
    return "".join(parts)


def _prefix(paragraph, styles: dict[str, str]) -> str:
    style = paragraph.find(f"{W}pPr/{W}pStyle")
    name = styles.get(style.get(W + "val", ""), "") if style is not None else ""
    match = _HEADING.match(name)
    if match:
        return "#" * int(match.group(1)) + " "
    if name == "title":
        return "# "
    if name.startswith("list"):
        return "- "
    return ""


def _children(element, tag: str) -> Iterator:
    """Children with ``tag``, also those wrapped in content controls."""
    for child in element:
        if child.tag == tag:
            yield child
        elif child.tag == W + "sdt":
            content = child.find(W + "sdtContent")
            if content is not None:
                yield from _children(content, tag)


def _table(table) -> list[str]:
    rows, nested = [], []
    above: dict[int, str] = {}  # grid column -> text of the cell a vertical merge continues
    for r, row in enumerate(_children(table, W + "tr"), 1):
        cells, column = [], 0
        for c, cell in enumerate(_children(row, W + "tc"), 1):
            props = cell.find(W + "tcPr")
            span = props.find(W + "gridSpan") if props is not None else None
            merge = props.find(W + "vMerge") if props is not None else None
            paragraphs = [_paragraph_text(p).strip() for p in _children(cell, W + "p")]
            text = cell_text(" ".join(p for p in paragraphs if p))
            if merge is not None and merge.get(W + "val", "continue") == "continue":
                text = above.get(column, "")
            above[column] = text
            cells.append(text)
            for inner in _children(cell, W + "tbl"):
                inner_blocks = _table(inner)
                if inner_blocks and inner_blocks[0]:
                    nested.append(f"(Table inside the table above, row {r}, column {c}:)")
                    nested.extend(inner_blocks)
            width = span.get(W + "val", "1") if span is not None else "1"
            column += int(width) if width.isdigit() else 1
        rows.append(cells)
    return [markdown_table(rows), *nested]
