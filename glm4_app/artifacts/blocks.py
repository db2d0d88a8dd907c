"""The fenced blocks of an answer that get a live preview: ``html``, ``svg`` (or ``xml`` holding
an ``<svg>``) and ``mermaid``, complete ones only (an unclosed block is still being written, or
was cut, and stays code). Fences follow CommonMark: up to three spaces of indent, three or more
backticks or tildes, closed by the same character at least as many times.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

_OPEN = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_LANGUAGES = {"html": "html", "htm": "html", "xhtml": "html", "svg": "svg", "mermaid": "mermaid"}
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
TITLE_CHARS = 80


@dataclass(frozen=True)
class Block:
    kind: str  # html | svg | mermaid
    code: str  # between the fences
    start: int  # where the opening fence starts in the text
    end: int  # just after the closing fence's line
    language: str  # as written after the fence


def find(text: str) -> list[Block]:
    """The complete artifact blocks of ``text``, in order."""
    found: list[Block] = []
    lines = text.splitlines(keepends=True)
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    i = 0
    while i < len(lines):
        opened = _OPEN.match(lines[i].rstrip("\r\n"))
        if opened is None or (opened.group(2)[0] == "`" and "`" in opened.group(3)):
            i += 1
            continue
        fence, info = opened.group(2), opened.group(3).strip()
        close = _closing(lines, i + 1, fence)
        if close is None:
            break  # unclosed: the rest of the text is this block's code
        language = info.split()[0].lower() if info else ""
        code = "".join(lines[i + 1 : close])
        kind = kind_of(language, code)
        if kind is not None:
            end = offsets[close] + len(lines[close])
            found.append(Block(kind, code, offsets[i], end, language))
        i = close + 1
    return found


def _closing(lines: list[str], start: int, fence: str) -> int | None:
    marker = fence[0]
    for j in range(start, len(lines)):
        stripped = lines[j].rstrip("\r\n")
        body = stripped.lstrip(" ")
        if len(stripped) - len(body) > 3:
            continue
        run = len(body) - len(body.lstrip(marker))
        if run >= len(fence) and not body[run:].strip():
            return j
    return None


def kind_of(language: str, code: str) -> str | None:
    if language in _LANGUAGES:
        return _LANGUAGES[language]
    if language in ("xml", "image/svg+xml") and "<svg" in code[:2000].lower():
        return "svg"
    return None


def title_of(kind: str, code: str) -> str:
    """The artifact's own name: an HTML page's or SVG's ``<title>`` (else a page's first
    ``<h1>``), a mermaid diagram's front-matter ``title``; "" when it has none."""
    if kind == "mermaid":
        return _mermaid_title(code)
    found = _TITLE.search(code) or (_H1.search(code) if kind == "html" else None)
    return _clean(_TAG.sub("", found.group(1))) if found else ""


def _mermaid_title(code: str) -> str:
    lines = code.strip().splitlines()
    if not lines or lines[0].strip() != "---":
        return ""
    for line in lines[1:]:
        if line.strip() == "---":
            break
        name, _, value = line.partition(":")
        if name.strip() == "title":
            return _clean(value.strip().strip("\"'"))
    return ""


def _clean(text: str) -> str:
    text = " ".join(html.unescape(text).split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


def keys(blocks: list[Block], titles: list[str]) -> list[str]:
    """Which artifact each block is a version of: the same kind and title as in an earlier
    answer, or, untitled, the same kind at the same place among the answer's untitled ones
    ("make the button red" rewrites the page: the new page is its next version).
    ``titles``: each block's ``title_of``, which the caller keeps too."""
    out, untitled = [], {}
    for block, title in zip(blocks, titles, strict=True):
        if title:
            out.append(f"{block.kind}:{title.casefold()}")
        else:
            untitled[block.kind] = untitled.get(block.kind, 0) + 1
            out.append(f"{block.kind}#{untitled[block.kind]}")
    return out
