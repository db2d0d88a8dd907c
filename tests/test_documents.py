"""Long document extraction: real files built here, and every kind of bad file a user uploads.

Each bad file must end in a DocumentError whose message tells the user what is wrong; no
other exception may escape, whatever the bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from functools import cache
from pathlib import Path

import docx
import openpyxl
import pptx
import pymupdf
import pytest
from pptx.util import Inches

from glm4_app import documents
from glm4_app.documents import (
    Document,
    DocumentError,
    DocumentLimits,
    check_total,
    extract,
    format_for_prompt,
)

LIMITS = DocumentLimits()
MB_1 = 1024 * 1024


# --- Files built for the tests ------------------------------------------------------------


def make_pdf(pages: int = 3, text: str = "Hello from page {n}.") -> bytes:
    pdf = pymupdf.open()
    for n in range(1, pages + 1):
        pdf.new_page().insert_text((72, 72), text.format(n=n))
    return pdf.tobytes()


@cache
def pdf_bytes() -> bytes:
    return make_pdf()


def encrypted_pdf() -> bytes:
    pdf = pymupdf.open(stream=make_pdf(), filetype="pdf")
    return pdf.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="secret", owner_pw="owner")


def image_only_pdf() -> bytes:
    """What a scanner makes: each page one picture, no text layer."""
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 40, 40), False)
    pix.clear_with(200)
    pdf = pymupdf.open()
    for _ in range(2):
        pdf.new_page().insert_image(pymupdf.Rect(72, 72, 300, 300), stream=pix.tobytes("png"))
    return pdf.tobytes()


def blank_pdf() -> bytes:
    pdf = pymupdf.open()
    pdf.new_page()
    return pdf.tobytes()


@cache
def docx_bytes() -> bytes:
    document = docx.Document()
    document.add_heading("Quarterly report", level=1)
    document.add_paragraph("Sales rose in every region.")
    table = document.add_table(rows=3, cols=2)
    for r, row in enumerate([("Region", "Sales"), ("North", "120"), ("South | East", "95")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    document.add_paragraph("The table above shows the totals.")
    document.add_heading("Outlook", level=2)
    document.add_paragraph("Hire two engineers", style="List Bullet")
    return _save(document)


@cache
def pptx_bytes() -> bytes:
    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    slide.shapes.title.text = "Roadmap 2025"
    slide.placeholders[1].text_frame.text = "Ship the long document mode"
    slide.notes_slide.notes_text_frame.text = "Mention the 128K context."
    slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    slide.shapes.title.text = "Budget"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(2), Inches(4), Inches(1)).table
    for r, row in enumerate([("Item", "Cost"), ("GPUs", "40000")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    return _save(deck)


@cache
def xlsx_bytes(rows: int = 3) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Orders"
    sheet.append(["Date", "Item", "Qty", "Price"])
    for i in range(rows):
        sheet.append([dt.datetime(2024, 1, 5 + i % 20), f"item {i}", 3.0, 9.5])
    book.create_sheet("Notes").append(["Prices include VAT"])
    return _save(book)


def _save(obj) -> bytes:
    out = io.BytesIO()
    obj.save(out)
    return out.getvalue()


def png_bytes() -> bytes:
    return pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 8, 8), False).tobytes("png")


def rewrite_zip(data: bytes, member: str, content: bytes) -> bytes:
    """The same Office file with one member's content replaced."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = content if info.filename == member else src.read(info)
            dst.writestr(info.filename, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def zip_bomb(member: str) -> bytes:
    """A tiny file that claims to be Office XML: 20 MB of zeros deflate to ~20 KB."""
    return rewrite_zip(docx_bytes() if member.startswith("word") else xlsx_bytes(),
                       member, b"\0" * (20 * 1024 * 1024))


# --- Good files ---------------------------------------------------------------------------


def test_pdf_pages_in_order_with_markers():
    document = extract("report.pdf", pdf_bytes(), LIMITS)
    assert (document.kind, document.pages, document.notes) == ("pdf", 3, ())
    assert document.text == (
        "[Page 1]\nHello from page 1.\n\n[Page 2]\nHello from page 2.\n\n"
        "[Page 3]\nHello from page 3."
    )
    assert document.chars == len(document.text)


def test_pdf_with_only_an_owner_password_is_read():
    """Owner passwords restrict printing/copying, not opening: the text is the user's to read."""
    pdf = pymupdf.open(stream=make_pdf(1), filetype="pdf")
    data = pdf.tobytes(encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner", permissions=0)
    assert extract("locked.pdf", data, LIMITS).text == "[Page 1]\nHello from page 1."


def test_pdf_progress_every_20_pages_then_done():
    calls = []
    extract("long.pdf", make_pdf(45), LIMITS, lambda f, m: calls.append((f, m)))
    assert [round(f, 3) for f, _ in calls] == [round(20 / 45, 3), round(40 / 45, 3), 1.0]
    assert str(calls[0][1]) == "Reading page 20 of 45"


def test_progress_callback_exception_is_not_turned_into_a_document_error():
    class Stop(Exception):
        pass

    def progress(fraction, message):
        raise Stop()

    with pytest.raises(Stop):
        extract("long.pdf", make_pdf(25), LIMITS, progress)


def test_docx_keeps_headings_and_the_table_between_its_paragraphs():
    document = extract("report.docx", docx_bytes(), LIMITS)
    assert document.kind == "docx" and document.pages is None
    assert document.text == (
        "# Quarterly report\n\n"
        "Sales rose in every region.\n\n"
        "| Region | Sales |\n|---|---|\n| North | 120 |\n| South \\| East | 95 |\n\n"
        "The table above shows the totals.\n\n"
        "## Outlook\n\n"
        "- Hire two engineers"
    )


def test_pptx_slides_with_titles_tables_and_speaker_notes():
    document = extract("deck.pptx", pptx_bytes(), LIMITS)
    assert (document.kind, document.pages) == ("pptx", 2)
    assert document.text == (
        "[Slide 1]\n# Roadmap 2025\nShip the long document mode\n"
        "Speaker notes: Mention the 128K context.\n\n"
        "[Slide 2]\n# Budget\n| Item | Cost |\n|---|---|\n| GPUs | 40000 |"
    )


def test_xlsx_each_sheet_as_a_table():
    document = extract("orders.xlsx", xlsx_bytes(), LIMITS)
    assert document.kind == "xlsx"
    assert document.text == (
        "[Sheet: Orders]\n| Date | Item | Qty | Price |\n|---|---|---|---|\n"
        "| 2024-01-05 | item 0 | 3 | 9.5 |\n| 2024-01-06 | item 1 | 3 | 9.5 |\n"
        "| 2024-01-07 | item 2 | 3 | 9.5 |\n\n"
        "[Sheet: Notes]\n| Prices include VAT |\n|---|"
    )


def test_xlsx_rows_are_capped_with_a_note():
    rows = documents.base.MAX_TABLE_ROWS + 50
    document = extract("big.xlsx", xlsx_bytes(rows), LIMITS)
    orders = document.text.split("[Sheet: Notes]")[0]
    assert orders.count("\n| 20") == documents.base.MAX_TABLE_ROWS
    assert f"(Only the first 2,000 of {rows:,} rows are shown.)" in orders
    assert [str(n) for n in document.notes] == [f"Sheet Orders: Only the first 2,000 of {rows:,} rows are shown."]


GBK_TEXT = "会议纪要：项目预算已经批准，下周开始施工。负责人：张三。"
FRENCH = "Café crème brûlée, naïve façade, déjà vu."
TEXT_CASES = [
    # id, file name, bytes, kind, expected text
    ("csv", "people.csv", b"name,age\r\nAda,36\r\n\"Lin, Bo\",41\r\n", "csv",
     "| name | age |\n|---|---|\n| Ada | 36 |\n| Lin, Bo | 41 |"),
    ("csv-semicolon", "eu.csv", "Stadt;Einwohner\nKöln;1084831\n".encode(), "csv",
     "| Stadt | Einwohner |\n|---|---|\n| Köln | 1084831 |"),
    ("tsv", "t.tsv", b"a\tb\n1\t2\n", "csv", "| a | b |\n|---|---|\n| 1 | 2 |"),
    ("gbk", "纪要.txt", GBK_TEXT.encode("gbk"), "text", GBK_TEXT),
    ("gbk-short", "hi.txt", "你好世界".encode("gbk"), "text", "你好世界"),
    ("utf16-bom", "notes.txt", "Grüße, 世界\r\nline two".encode("utf-16"), "text",
     "Grüße, 世界\nline two"),
    ("utf16-no-bom", "le.txt", "ASCII in UTF-16".encode("utf-16-le"), "text", "ASCII in UTF-16"),
    ("utf8-cut-mid-character", "cut.txt", "价格：九十五".encode()[:-1], "text",
     "价格：九十"),
    ("utf8-bom", "bom.md", "\ufeff# Title\n\nbody".encode(), "markdown", "# Title\n\nbody"),
    ("code", "main.py", b"def f():\n    return 1\n", "code", "def f():\n    return 1"),
    ("json", "data.json", b'{"a": [1, 2]}', "json", '{"a": [1, 2]}'),
    ("latin1", "old.txt", FRENCH.encode("cp1252"), "text", FRENCH),
    ("html", "page.html",
     b"<html><head><title>Doc</title><script>var x=1;</script></head><body><h1>Doc</h1>"
     b"<p>First <b>bold</b> para.</p><ul><li>one</li></ul></body></html>", "html",
     "# Doc\n\nFirst bold para.\n\n- one"),
    ("no-extension", "README", b"plain words", "text", "plain words"),
]


@pytest.mark.parametrize("name,data,kind,text", [c[1:] for c in TEXT_CASES],
                         ids=[c[0] for c in TEXT_CASES])
def test_text_formats(name, data, kind, text):
    document = extract(name, data, LIMITS)
    assert (document.kind, document.text, document.pages) == (kind, text, None)


def test_pdf_named_docx_is_read_as_pdf_and_says_so():
    document = extract("report.docx", pdf_bytes(), LIMITS)
    assert document.kind == "pdf" and "Hello from page 2." in document.text
    assert [str(n) for n in document.notes] == ["report.docx is really a PDF; it was read as one."]


# --- Bad files ----------------------------------------------------------------------------


def _truncated(data: bytes) -> bytes:
    return data[: len(data) * 2 // 3]


BAD = [
    # id, file name, bytes (a function, so files are built only when the case runs),
    # limits, words the message must contain
    ("zero-bytes", "empty.pdf", lambda: b"", LIMITS, ["empty.pdf is empty (0 bytes)"]),
    ("over-file-size", "big.txt", lambda: b"a" * (MB_1 + 1), DocumentLimits(max_file_mb=1),
     ["big.txt is 1.0 MB", "the limit is 1 MB per file"]),
    ("pdf-encrypted", "secret.pdf", encrypted_pdf, LIMITS,
     ["secret.pdf is password-protected", "Remove the password"]),
    ("pdf-truncated", "cut.pdf", lambda: _truncated(pdf_bytes()), LIMITS,
     ["cut.pdf is incomplete", "Upload the complete file"]),
    ("pdf-corrupt", "junk.pdf", lambda: b"%PDF-1.7\n" + bytes(range(256)) * 20, LIMITS,
     ["junk.pdf is damaged and can't be read as a PDF"]),
    ("pdf-over-page-limit", "long.pdf", pdf_bytes, DocumentLimits(max_pages=2),
     ["long.pdf has 3 pages; the limit is 2 pages per file"]),
    ("pdf-scanned", "scan.pdf", image_only_pdf, LIMITS,
     ["scan.pdf has no text layer", "OCR it first"]),
    ("pdf-blank", "blank.pdf", blank_pdf, LIMITS, ["blank.pdf contains no text"]),
    ("docx-truncated", "cut.docx", lambda: _truncated(docx_bytes()), LIMITS,
     ["cut.docx is damaged or incomplete", "Word document"]),
    ("docx-corrupt", "bad.docx", lambda: rewrite_zip(docx_bytes(), "word/document.xml", b"<w:d"),
     LIMITS, ["bad.docx is damaged and can't be read as a Word document"]),
    ("docx-empty", "empty.docx", lambda: _save(docx.Document()), LIMITS,
     ["empty.docx contains no text"]),
    ("xlsx-truncated", "cut.xlsx", lambda: _truncated(xlsx_bytes()), LIMITS,
     ["cut.xlsx is damaged or incomplete", "Excel workbook"]),
    ("xlsx-corrupt", "bad.xlsx", lambda: rewrite_zip(xlsx_bytes(), "xl/workbook.xml", b"nope"),
     LIMITS, ["bad.xlsx is damaged and can't be read as an Excel workbook"]),
    ("pptx-truncated", "cut.pptx", lambda: _truncated(pptx_bytes()), LIMITS,
     ["cut.pptx is damaged or incomplete", "PowerPoint"]),
    ("pptx-over-slide-limit", "deck.pptx", pptx_bytes, DocumentLimits(max_pages=1),
     ["deck.pptx has 2 slides; the limit is 1 slides per file"]),
    ("zip-bomb-docx", "bomb.docx", lambda: zip_bomb("word/document.xml"), LIMITS,
     ["bomb.docx contains a part compressed", "zip bomb"]),
    ("zip-bomb-xlsx", "bomb.xlsx", lambda: zip_bomb("xl/worksheets/sheet1.xml"), LIMITS,
     ["bomb.xlsx contains a part compressed", "zip bomb"]),
    ("png-named-txt", "notes.txt", png_bytes, LIMITS, ["notes.txt is a PNG image, not text"]),
    ("png", "photo.png", png_bytes, LIMITS, ["photo.png is a PNG image", "PDF, Word (.docx)"]),
    ("binary-named-txt", "data.txt", lambda: random.Random(1).randbytes(4096), LIMITS,
     ["data.txt is not text"]),
    ("html-named-pdf", "report.pdf",
     lambda: b"<html><body>Please log in</body></html>", LIMITS,
     ["report.pdf is not a real PDF", "does not match the .pdf extension"]),
    ("legacy-doc", "old.doc", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), LIMITS,
     ["old.doc is an old-style Office file", "Save it as .docx"]),
    ("plain-zip-named-docx", "files.docx", lambda: _plain_zip(), LIMITS,
     ["files.docx is a ZIP archive, not a Word, PowerPoint or Excel file"]),
    ("whitespace-only", "blank.txt", lambda: b" \n\t\n ", LIMITS, ["blank.txt contains no text"]),
]


def _plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    return out.getvalue()


@pytest.mark.parametrize("name,make,limits,words", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_files_get_a_clear_message(name, make, limits, words):
    with pytest.raises(DocumentError) as caught:
        extract(name, make(), limits)
    for word in words:
        assert word in str(caught.value)


def test_total_unzipped_size_is_capped(monkeypatch):
    monkeypatch.setattr(documents.detect, "MAX_UNZIPPED_BYTES", 10_000)
    message = r"big\.docx would unpack to 0\.\d MB \(the limit is 10,000 bytes\).*zip bomb"
    with pytest.raises(DocumentError, match=message):
        extract("big.docx", docx_bytes(), LIMITS)


@pytest.mark.parametrize("make", [pdf_bytes, docx_bytes, pptx_bytes, xlsx_bytes],
                         ids=["pdf", "docx", "pptx", "xlsx"])
def test_any_damage_ends_in_document_error_or_a_document(make):
    data = make()
    rng = random.Random(0)
    variants = [data[:cut] for cut in range(0, len(data), max(1, len(data) // 12))]
    for _ in range(12):  # a few bytes overwritten anywhere
        damaged = bytearray(data)
        for _ in range(8):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        variants.append(bytes(damaged))
    for variant in variants:
        try:
            assert isinstance(extract("file." + make.__name__[:4], variant, LIMITS), Document)
        except DocumentError as error:
            assert str(error).startswith("file.")


# --- Totals and the prompt ----------------------------------------------------------------


def test_check_total():
    limits = DocumentLimits(max_total_mb=2)
    check_total(MB_1, MB_1, limits)  # exactly the limit is fine
    with pytest.raises(DocumentError, match=r"bring the documents to 2\.0 MB; the limit is 2 MB"):
        check_total(MB_1, MB_1 + 1, limits)


def test_format_for_prompt_is_the_reference_format_and_deterministic():
    docs = [
        Document("a.txt", "text", "alpha", None, 5),
        Document("b.pdf", "pdf", "[Page 1]\nbeta", 1, 13),
    ]
    expected = (
        "[File Name]\na.txt\n[File Content]\nalpha\n\n"
        "[File Name]\nb.pdf\n[File Content]\n[Page 1]\nbeta"
    )
    assert format_for_prompt(docs) == expected
    assert format_for_prompt(list(docs)) == expected
    assert format_for_prompt([]) == ""


def test_format_for_prompt_defuses_special_tokens_written_in_a_document():
    doc = Document("glm.md", "markdown", "Turns: <|user|> then [gMASK]<sop>.", None, 33)
    prompt = format_for_prompt([doc])
    assert "<|user|>" not in prompt and "[gMASK]" not in prompt and "<sop>" not in prompt
    assert prompt.endswith("Turns: <\u200b|user|> then [\u200bgMASK]<\u200bsop>.")


def test_a_bug_in_a_reader_still_ends_in_document_error(monkeypatch):
    def broken(*args):
        raise RuntimeError("bug")

    monkeypatch.setattr(documents, "read_text", broken)
    with pytest.raises(DocumentError, match=r"notes\.txt could not be read because of an unexpected"):
        extract("notes.txt", b"hello", LIMITS)


def test_importing_the_module_does_not_import_the_parsers():
    """pymupdf alone takes ~2 s to import; the app imports documents at start-up."""
    import subprocess
    import sys

    code = (
        "import sys, glm4_app.documents; "
        "assert not {'pymupdf', 'docx', 'pptx', 'openpyxl'} & set(sys.modules)"
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
