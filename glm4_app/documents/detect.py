"""What a file really is, from its bytes, and a zip bomb check before any Office parser runs."""

from __future__ import annotations

import io
import zipfile

from ..notices import Notice
from .base import MB, DocumentError, size_text
from .safezip import verify

# Binary formats users upload by mistake, named so the refusal says what the file is.
_MAGIC: tuple[tuple[bytes, Notice], ...] = (
    (b"\x89PNG\r\n\x1a\n", Notice("filetype.a_png")),
    (b"\xff\xd8\xff", Notice("filetype.a_jpeg")),
    (b"GIF87a", Notice("filetype.a_gif")),
    (b"GIF89a", Notice("filetype.a_gif")),
    (b"II*\x00", Notice("filetype.a_tiff")),
    (b"MM\x00*", Notice("filetype.a_tiff")),
    (b"\x1f\x8b", Notice("filetype.a_gzip")),
    (b"7z\xbc\xaf\x27\x1c", Notice("filetype.a_7zip")),
    (b"Rar!\x1a\x07", Notice("filetype.a_rar")),
    (b"\x7fELF", Notice("filetype.a_program")),
    (b"SQLite format 3\x00", Notice("filetype.a_sqlite")),
    (b"ID3", Notice("filetype.an_audio_file")),
    (b"fLaC", Notice("filetype.an_audio_file")),
    (b"OggS", Notice("filetype.an_audio_or_video_file")),
    (b"{\\rtf", Notice("filetype.an_rtf")),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: .doc/.xls/.ppt, or encrypted OOXML
_ZIP = (b"PK\x03\x04", b"PK\x05\x06")

# Zip bomb limits, checked on the declared sizes in the zip's directory before parsing, and
# then held by inflating every member under a cap (safezip.verify): a member that lies about
# its size is refused after at most its declared size plus one step. Ratio 100 is Apache
# POI's default (its MIN_INFLATE_RATIO is 0.01); tiny members may compress better than that
# legitimately, so they are exempt.
MAX_UNZIPPED_BYTES = 500 * MB
MAX_RATIO = 100
RATIO_EXEMPT_BYTES = 1 * MB
MAX_MEMBERS = 10_000

OFFICE_KINDS = {  # a member that only that kind of package has
    "word/document.xml": "docx",
    "ppt/presentation.xml": "pptx",
    "xl/workbook.xml": "xlsx",
}


def sniff(data: bytes) -> str | Notice | None:
    """'pdf', 'zip', 'ole', what another binary format is (a notice), or None (maybe text)."""
    # The PDF spec tolerates junk before the header; readers look in the first 1 KB.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(_ZIP):
        return "zip"
    if data.startswith(_OLE):
        return "ole"
    if data[4:8] == b"ftyp":
        return Notice("filetype.an_audio_or_video_file")
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return Notice("filetype.a_webp")
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    return None


def open_office_zip(name: str, data: bytes, label: Notice) -> tuple[zipfile.ZipFile, str | None]:
    """Open a zip safely; returns it and the Office kind its members show (or None).

    ``label`` names what the file claims to be, for the messages (e.g. "a Word document").
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception:  # BadZipFile, NotImplementedError (garbled version field), EOFError...
        # The zip directory sits at the end of the file: a cut-off download loses it first.
        raise DocumentError(Notice("documents.zip_damaged", name=name, kind=label)) from None
    if len(infos) > MAX_MEMBERS:
        raise DocumentError(Notice("documents.zip_members", name=name, count=len(infos), limit=MAX_MEMBERS))
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise DocumentError(
            Notice("documents.zip_size", name=name, size=size_text(total), limit=size_text(MAX_UNZIPPED_BYTES))
        )
    for info in infos:
        if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise DocumentError(Notice("documents.zip_ratio", name=name, ratio=round(ratio), limit=MAX_RATIO))
        if info.flag_bits & 0x1:
            raise DocumentError(Notice("documents.zip_encrypted", name=name))
    names = {i.filename for i in infos}
    kind = next((k for member, k in OFFICE_KINDS.items() if member in names), None)
    if kind is not None:  # a plain zip is refused anyway: no need to inflate it
        verify(data, infos, name, MAX_UNZIPPED_BYTES, label)
    return archive, kind
