"""Hostile uploads, built from scratch at any size: each small, each expensive to read.

Shared by tests/test_hostile_uploads.py and bench/hostile_upload.py. Sizes are arguments so
the tests stay CI-sized while proving the deadline and the caps.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
XML = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


# --- PDF --------------------------------------------------------------------------------------


def _pdf(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    packed = zlib.compress(data, 9)
    return b"<< /Length %d /Filter /FlateDecode %s >>\nstream\n" % (len(packed), extra) + packed + b"\nendstream"


_PAGE_TREE = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]
_FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def nested_forms_pdf(levels: int) -> bytes:
    """A one-page PDF of ~5 KB whose page draws form 1 twice, which draws form 2 twice, ...:
    2**levels drawings of a line. MuPDF takes ~7 s at 20 levels, minutes at 24, and holds the
    GIL all along; memory stays small."""
    first_form = 6

    def xobject(level: int) -> bytes:
        return b"/X%d %d 0 R" % (level, first_form + level)

    resources = b"<< /XObject << %s >> /Font << /F1 5 0 R >> >>" % xobject(levels)
    objects = [
        *_PAGE_TREE,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources %s >>" % resources,
        _stream(b"BT /F1 12 Tf 72 720 Td (Nested forms) Tj ET q /X%d Do Q" % levels),
        _FONT,
    ]
    for level in range(levels + 1):
        if level == 0:
            body, inner = b"0 0 m 1 1 l S", b"<< >>"
        else:
            body = b"q /X%d Do Q q /X%d Do Q" % (level - 1, level - 1)
            inner = b"<< /XObject << %s >> >>" % xobject(level - 1)
        form = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources " + inner
        objects.append(_stream(body, form))
    return _pdf(objects)


def inflating_pdf(mb: int) -> bytes:
    """One page whose content stream inflates to ``mb`` MB of text drawing (~1/250 of that in
    the file): reading it needs memory in proportion."""
    line = b"BT /F1 12 Tf 72 720 Td (" + b"A" * 100 + b") Tj ET\n"
    content = line * (mb * 1024 * 1024 // len(line))
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
    page += b"/Resources << /Font << /F1 5 0 R >> >> >>"
    return _pdf([*_PAGE_TREE, page, _stream(content), _FONT])


def repaired_pdf() -> bytes:
    """Three pages of text whose index points nowhere (MuPDF rebuilds it by scanning the file)
    and whose second page's content object is mangled (the rebuild cannot find it): read,
    that page comes out empty without any error."""
    pages, contents = [], []
    for number in range(3):
        pages.append(b"%d 0 R" % (3 + 2 * number))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count 3 >>" % b" ".join(pages)]
    for number in range(3):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents %d 0 R "
            b"/Resources << /Font << /F1 9 0 R >> >> >>" % (4 + 2 * number)
        )
        text = b"BT /F1 12 Tf 72 720 Td (Text of page %d.) Tj ET" % (number + 1)
        objects.append(b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream")
    objects.append(_FONT)
    data = bytearray(_pdf(objects))
    data[data.rindex(b"startxref") :] = b"startxref\n1\n%%EOF\n"
    second = data.index(b"6 0 obj")
    data[second : second + 7] = b"6 0 ojb"
    return bytes(data)


# --- Word -------------------------------------------------------------------------------------


def docx_with(document_xml: bytes, styles_xml: bytes | None = None) -> bytes:
    """A real (python-docx made) Word file with its body and styles replaced."""
    import docx

    base = io.BytesIO()
    docx.Document().save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "word/document.xml":
                body = document_xml
            elif info.filename == "word/styles.xml" and styles_xml is not None:
                body = styles_xml
            dst.writestr(info.filename, body)
    return out.getvalue()


def many_styles_docx(paragraphs: int, styles: int) -> bytes:
    """Each paragraph in the last of many styles: python-docx searches all styles for every
    paragraph (1,000 x 20,000 took 108 s in a 142 KB file)."""
    defined = b"".join(
        b'<w:style w:type="paragraph" w:styleId="S%d"><w:name w:val="Style %d"/></w:style>' % (i, i)
        for i in range(styles)
    )
    body = b"".join(
        b'<w:p><w:pPr><w:pStyle w:val="S%d"/></w:pPr><w:r><w:t>Paragraph %d</w:t></w:r></w:p>'
        % (styles - 1, i)
        for i in range(paragraphs)
    )
    return docx_with(
        XML + b"<w:document %s><w:body>%s</w:body></w:document>" % (W, body),
        XML + b"<w:styles %s>%s</w:styles>" % (W, defined),
    )


def big_xml_docx(mib: int) -> bytes:
    """``mib`` MiB of ordinary paragraphs at an ordinary compression ratio (a 5 MB file with 60
    MiB of XML passes any ratio check and took python-docx 7 minutes)."""
    paragraph = b"<w:p><w:r><w:t>The committee reviewed the budget, line %d.</w:t></w:r></w:p>"
    body = b"".join(paragraph % i for i in range(mib * 1024 * 1024 // 80))
    return docx_with(XML + b"<w:document %s><w:body>%s</w:body></w:document>" % (W, body))


def lying_member_docx(inflated_mb: int, declared: int = 2000) -> bytes:
    """A Word file whose body declares ``declared`` bytes but inflates to ``inflated_mb`` MB:
    declared sizes pass every zip-bomb check; zipfile inflated up to 2 GiB before cutting."""
    real = XML + b"<w:document %s><w:body>" % W
    real += b"<w:p><w:r><w:t>" + b"A" * (inflated_mb * 1024 * 1024) + b"</w:t></w:r></w:p></w:body></w:document>"
    data = bytearray(docx_with(real))
    crc = zlib.crc32(real[:declared])
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo("word/document.xml")
    # the local header: crc at +14, uncompressed size at +22
    struct.pack_into("<L", data, info.header_offset + 14, crc)
    struct.pack_into("<L", data, info.header_offset + 22, declared)
    position = 0
    while True:  # the central directory entry of word/document.xml
        position = bytes(data).find(b"PK\x01\x02", position)
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46 : position + 46 + name_length] == b"word/document.xml":
            break
        position += 4
    struct.pack_into("<L", data, position + 16, crc)
    struct.pack_into("<L", data, position + 24, declared)
    return bytes(data)


# --- markup -----------------------------------------------------------------------------------


def noisy_html(mb: int) -> bytes:
    """``mb`` MB of dense markup opened by unclosed ``<script`` tags: a lazy regex rescans the
    rest of the page for each (minutes), and a full parse takes GBs."""
    opening = b"<html><head><title>Quarterly figures</title></head><body><h1>Figures</h1>"
    rows = b"<div><span>cell</span></div>" * (mb * 1024 * 1024 // 58)
    return opening + b"<p>Revenue rose.</p>" + rows + b"<script>" * 50_000
