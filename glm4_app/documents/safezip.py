"""Zip members inflated under hard caps, counting the bytes that really come out.

A zip's directory declares each member's size, and a zip bomb lies: a member declaring 2,000
bytes may inflate to gigabytes. Python's zipfile trusts the declaration only at the end (it
inflates up to 2 GiB in one call, then cuts), so the Office parsers would pay the real size in
memory. ``verify`` inflates every member once in small steps, stops as soon as one gives more
than it declared or more than the caps allow, and checks its CRC. After it, the declared sizes
are the real ones and the parsers read a file whose every member is bounded.
"""

from __future__ import annotations

import struct
import zipfile
import zlib

from ..notices import Notice
from .base import DocumentError, size_text

CHUNK = 64 * 1024  # compressed bytes fed at a time
STEP = 1024 * 1024  # most bytes one inflate step may produce
_LOCAL_HEADER = struct.Struct("<4s5H3L2H")  # signature ... name length, extra length


def verify(
    data: bytes, infos: list[zipfile.ZipInfo], name: str, max_total: int, label: Notice
) -> None:
    """Raise DocumentError unless every member inflates to exactly its declared size, with its
    CRC, and all of them together to at most ``max_total`` bytes."""
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        cap = min(info.file_size, max_total - total) + 1
        produced = _inflate(data, info, cap, name, label)
        if produced > info.file_size or total + produced > max_total:
            raise DocumentError(
                Notice("documents.zip_member_lies", name=name, size=size_text(info.file_size))
            )
        if produced != info.file_size:
            raise _damaged(name, label)
        total += produced


def _inflate(data: bytes, info: zipfile.ZipInfo, cap: int, name: str, label: Notice) -> int:
    """Bytes member ``info`` inflates to, counting no further than ``cap``."""
    start = _data_offset(data, info, name, label)
    raw = memoryview(data)[start : start + info.compress_size]
    if len(raw) != info.compress_size:
        raise _damaged(name, label)
    if info.compress_type == zipfile.ZIP_STORED:
        if zlib.crc32(raw) != info.CRC:
            raise _damaged(name, label)
        return len(raw)
    if info.compress_type != zipfile.ZIP_DEFLATED:  # Office files use nothing else
        raise DocumentError(
            Notice("documents.zip_method", name=name, method=info.compress_type)
        )
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    produced, crc = 0, 0
    for offset in range(0, len(raw), CHUNK):
        pending = raw[offset : offset + CHUNK]
        while pending:
            try:
                out = inflater.decompress(pending, STEP)
            except zlib.error:
                raise _damaged(name, label) from None
            produced += len(out)
            if produced >= cap:
                return produced
            crc = zlib.crc32(out, crc)
            pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    if not inflater.eof or crc != info.CRC:
        raise _damaged(name, label)
    return produced


def _data_offset(data: bytes, info: zipfile.ZipInfo, name: str, label: Notice) -> int:
    header = data[info.header_offset : info.header_offset + _LOCAL_HEADER.size]
    if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
        raise _damaged(name, label)
    fields = _LOCAL_HEADER.unpack(header)
    return info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]


def _damaged(name: str, label: Notice) -> DocumentError:
    return DocumentError(Notice("documents.damaged", name=name, kind=label))
