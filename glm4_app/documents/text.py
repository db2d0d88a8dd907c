"""Text files: encoding detection, HTML to readable text, CSV as a table."""

from __future__ import annotations

import codecs
import csv
import io
import re

from ..notices import Notice
from .base import MAX_TABLE_ROWS, MAX_TEXT_CHARS, Document, markdown_table, rows_note, trim_row

# Longest BOM first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]")  # not \t \n \v \f \r or ESC
_SAMPLE = 64 * 1024
_PREFERRED = ("gb18030", "cp1252")

CODE_EXTENSIONS = frozenset(
    "py pyi ipynb js mjs cjs ts tsx jsx java kt kts scala c h cc cpp cxx hpp hh cs go rs rb "
    "php swift m mm r jl lua pl pm sh bash zsh fish ps1 bat cmd sql yaml yml toml ini cfg conf "
    "xml css scss less vue svelte dart hs ml ex exs erl clj groovy gradle cmake makefile "
    "dockerfile proto graphql tex".split()
)


def decode(data: bytes) -> str | None:
    """The text in ``data``, or None when it is not text.

    Order: a BOM, UTF-16 without BOM (NUL in every other byte), strict UTF-8, then
    charset-normalizer's guess, then GB18030 (the common non-UTF-8 encoding of the Chinese
    files GLM users upload), then cp1252 (Western text). A result with many control
    characters is binary after all.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                return None
    sample = data[:_SAMPLE]
    if b"\x00" in sample:  # NUL is valid UTF-8, so look for UTF-16 first
        text = _utf16_without_bom(data)
        if text is not None:
            return text
    try:
        return _text_or_none(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        if error.reason == "unexpected end of data":  # a file cut inside its last character
            return _text_or_none(data[: error.start].decode("utf-8"))
    if b"\x00" in sample:
        return None  # neither UTF-16 nor UTF-8: binary
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(data))
    if matches:
        # On short texts several encodings often tie (same chaos and coherence): "你好世界" in
        # GBK ties cp949 with gb18030, French cp1252 ties cp1250. Break ties toward the
        # encodings this app's users most likely have.
        best = matches[0]
        tied = [m for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
        best = next((m for m in tied if m.encoding in _PREFERRED), best)
        return _text_or_none(str(best))
    for encoding in ("gb18030", "cp1252"):
        try:
            return _text_or_none(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    sample = data[:_SAMPLE]
    odd_nuls, even_nuls = sample[1::2].count(0), sample[0::2].count(0)
    half = len(sample) // 2
    # Mostly-ASCII UTF-16 has a NUL in (nearly) every high byte; binary data doesn't.
    for encoding, nuls in (("utf-16-le", odd_nuls), ("utf-16-be", even_nuls)):
        if half and nuls > 0.4 * half:
            try:
                return _text_or_none(data[: len(data) // 2 * 2].decode(encoding))
            except UnicodeDecodeError:
                return None
    return None


def _text_or_none(text: str) -> str | None:
    sample = text[:_SAMPLE]
    if sample and len(_CONTROL.findall(sample)) > 0.01 * len(sample):
        return None
    return text


def clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # Blank lines at the ends go; the first line's indentation stays (code may start indented).
    return re.sub(r"\A\s*\n", "", text).rstrip()


def text_kind(extension: str, text: str) -> str:
    if extension in ("html", "htm", "xhtml") or re.match(
        r"\s*<(!doctype html|html[\s>])", text[:1024], re.I
    ):
        return "html"
    if extension in ("csv", "tsv"):
        return "csv"
    if extension in ("json", "jsonl", "ndjson", "geojson"):
        return "json"
    if extension in ("md", "markdown", "mdx", "rst"):
        return "markdown"
    if extension in CODE_EXTENSIONS:
        return "code"
    return "text"


def read_text(name: str, text: str, kind: str) -> Document:
    notes: tuple[Notice, ...] = ()
    if kind == "html":
        # The browser tool's converter and caps: headings as #, lists as -, tables as a | b
        # rows, at most PARSE_CHARS of markup parsed (a 45 MB page took minutes and GBs).
        from glm4_app.tools.web_fetch import PARSE_CHARS, readable_html

        title, body, cut = readable_html(text)
        text = f"# {title}\n\n{body}" if title and not body.startswith(f"# {title}") else body
        if cut:
            notes = (Notice("documents.markup_cut", count=PARSE_CHARS),)
    elif kind != "csv":
        text = text[: MAX_TEXT_CHARS + 1]  # documents.extract notes the cut
    elif kind == "csv":
        table, note = _csv_table(text, tab=name.lower().endswith(".tsv"))
        if table:
            text = table + (f"\n({note})" if note else "")  # the model reads English
            notes = (note,) if note else ()
    text = clean(text)
    return Document(name, kind, text, None, len(text), notes)


def _csv_table(text: str, tab: bool) -> tuple[str, Notice | None]:
    """(Markdown table, note about cut rows); ("", None) when it does not parse as CSV."""
    if tab:
        dialect: type[csv.Dialect] | csv.Dialect = csv.excel_tab
    else:
        try:
            dialect = csv.Sniffer().sniff(text[:20_000], delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
    rows, total = [], 0
    try:
        for values in csv.reader(io.StringIO(text, newline=""), dialect):
            row = trim_row(values)
            if not row:
                continue
            total += 1
            if len(rows) <= MAX_TABLE_ROWS:  # + the header row
                rows.append(row)
    except csv.Error:
        return "", None
    note = rows_note(MAX_TABLE_ROWS, total - 1) if total - 1 > MAX_TABLE_ROWS else None
    return markdown_table(rows), note
