"""What a file really is, from its bytes, and a zip bomb check before any Office parser runs."""

from __future__ import annotations

import io
import zipfile

from .base import MB, DocumentError, size_text
from .safezip import verify

# Binary formats users upload by mistake, named so the refusal says what the file is.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a program"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"ID3", "an audio file"),
    (b"fLaC", "an audio file"),
    (b"OggS", "an audio or video file"),
    (b"{\\rtf", "an RTF document (save it as .docx or PDF)"),
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


def sniff(data: bytes) -> str | None:
    """'pdf', 'zip', 'ole', a description of another binary format, or None (maybe text)."""
    # The PDF spec tolerates junk before the header; readers look in the first 1 KB.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(_ZIP):
        return "zip"
    if data.startswith(_OLE):
        return "ole"
    if data[4:8] == b"ftyp":
        return "an audio or video file"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "a WebP image"
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    return None


def open_office_zip(name: str, data: bytes, label: str) -> tuple[zipfile.ZipFile, str | None]:
    """Open a zip safely; returns it and the Office kind its members show (or None).

    ``label`` names what the file claims to be, for the messages (e.g. "a Word document").
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except Exception:  # BadZipFile, NotImplementedError (garbled version field), EOFError...
        # The zip directory sits at the end of the file: a cut-off download loses it first.
        raise DocumentError(
            f"{name} is damaged or incomplete (perhaps a partial download) and can't be read "
            f"as {label}."
        ) from None
    if len(infos) > MAX_MEMBERS:
        raise DocumentError(
            f"{name} holds {len(infos):,} files inside (more than {MAX_MEMBERS:,}); it was not "
            f"opened because it looks like a zip bomb."
        )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNZIPPED_BYTES:
        raise DocumentError(
            f"{name} would unpack to {size_text(total)} (the limit is "
            f"{size_text(MAX_UNZIPPED_BYTES)}); it was not opened because it looks like a zip bomb."
        )
    for info in infos:
        if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            ratio = info.file_size / max(info.compress_size, 1)
            raise DocumentError(
                f"{name} contains a part compressed {ratio:,.0f} times (normal files stay below "
                f"{MAX_RATIO}); it was not opened because it looks like a zip bomb."
            )
        if info.flag_bits & 0x1:
            raise DocumentError(f"{name} contains encrypted parts and can't be read.")
    names = {i.filename for i in infos}
    kind = next((k for member, k in OFFICE_KINDS.items() if member in names), None)
    if kind is not None:  # a plain zip is refused anyway: no need to inflate it
        verify(data, infos, name, MAX_UNZIPPED_BYTES, label)
    return archive, kind
