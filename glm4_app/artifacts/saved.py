"""Artifacts as files in a conversation's media folder (``data/media/<conversation id>/``),
each under a random id: made from an answer's fenced blocks, from a code cell's rich outputs
and from the ``.html``/``.svg`` files the cell wrote; copied for share links; embedded in a
JSON export and written again by its import.

Nothing here follows a path it did not make: copies are taken only from under the folder
the caller names (a share never hands out another file of the server).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import stat
from dataclasses import replace
from pathlib import Path

from ..messages import Artifact, Message
from ..tool_types import Output, ToolResult
from ..tools.kernel_startup import TABLE_MIME
from ..tools.transcript import OMITTED_MIME
from . import FRAMED
from .blocks import find, keys, title_of

log = logging.getLogger(__name__)

MAX_BYTES = 20_000_000  # one artifact (a web page the code wrote, one rich output)
EXTENSIONS = {
    "html": ".html", "svg": ".svg", "mermaid": ".mmd", "table": ".table.json",
    "markdown": ".md", "latex": ".tex", "json": ".json",
}  # fmt: skip
# A rich output shows as the first of these its bundle holds (PNG/JPEG figures are images).
RICH = [
    (TABLE_MIME, "table"), ("text/html", "html"), ("image/svg+xml", "svg"),
    ("text/markdown", "markdown"), ("text/latex", "latex"), ("application/json", "json"),
]  # fmt: skip
FILE_KINDS = {".html": "html", ".htm": "html", ".svg": "svg"}


def file_name(artifact: Artifact) -> str:
    """What a download of the artifact is called: its title (or kind) as a file name."""
    stem = re.sub(r"[^\w.-]+", "-", artifact.title).strip("-.")[:60] or artifact.kind
    extension = EXTENSIONS[artifact.kind]
    return stem if stem.lower().endswith(extension) else stem + extension


def new_id() -> str:
    return secrets.token_urlsafe(16)


def _new_path(media_dir: Path, kind: str) -> tuple[str, Path]:
    """(id, file) of a new artifact of this kind in ``media_dir``."""
    artifact_id = new_id()
    return artifact_id, media_dir / f"{artifact_id}{EXTENSIONS[kind]}"


def write(media_dir: Path, kind: str, data: bytes, **fields) -> Artifact:
    """The artifact as a new file; on a full disk, a note instead (the answer is kept)."""
    artifact_id, path = _new_path(media_dir, kind)
    try:
        media_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as err:
        log.warning("could not save an artifact: %s", err)
        return Artifact("omitted", title=fields.get("title", "") or kind, size=len(data), block=fields.get("block"))
    return Artifact(kind, str(path), artifact_id, size=len(data), **fields)


def publish_answer(message: Message, media_dir: Path, earlier: list[Artifact] = ()) -> None:
    """Give a finished answer its artifacts: one per complete fenced html/svg/mermaid block.
    ``earlier``: the artifacts of the stopped answer this one continues (kept when unchanged)."""
    blocks = find(message.content)
    before = {a.block: a for a in earlier if a.block is not None}
    message.artifacts = []
    titles = [title_of(block.kind, block.code) for block in blocks]
    for n, (block, title, key) in enumerate(zip(blocks, titles, keys(blocks, titles))):
        old = before.get(n)
        if old is not None and old.kind == block.kind and _reads(old.path) == block.code:
            message.artifacts.append(old)
            continue
        message.artifacts.append(write(media_dir, block.kind, block.code.encode(), title=title, key=key, block=n))


def _reads(path: str) -> str | None:
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        return None


def of_tool_result(result: ToolResult, images: list[str], media_dir: Path) -> list[Artifact]:
    """A step's rich outputs in order (``images``: where its figures were saved, by index),
    then previews of the web pages and SVGs it wrote."""
    out = [a for output in result.outputs if (a := of_output(output, images, media_dir)) is not None]
    for path in result.files:
        kind = FILE_KINDS.get(path.suffix.lower())
        if kind is None:
            continue
        size, data = read_written(path, MAX_BYTES)
        if size > MAX_BYTES:
            out.append(Artifact("omitted", title=path.name, size=size))
        elif data:
            out.append(write(media_dir, kind, data, title=path.name, key=f"file:{path.name}"))
    return out


def read_written(path: Path, limit: int) -> tuple[int, bytes]:
    """(size, bytes) of a file the model's code wrote, read by the app itself: only a regular
    file reached without following any link (the code could swap the file, or a folder above
    it, for a link to a file of the server after the cell ended); the bytes when at most
    ``limit``. (0, b"") for anything else. The paths given are resolved, so no link is expected."""
    if not path.is_absolute():
        return 0, b""
    fd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in path.parts[1:-1]:
            inner = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = inner
        inner = os.open(path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
        os.close(fd)
        fd = inner
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return 0, b""
        if info.st_size > limit:
            return info.st_size, b""
        with os.fdopen(fd, "rb") as f:
            fd = -1
            data = f.read(limit + 1)
        return len(data), data
    except OSError:
        return 0, b""
    finally:
        if fd >= 0:
            os.close(fd)


def of_output(output: Output, images: list[str], media_dir: Path) -> Artifact | None:
    if output.image is not None:
        return Artifact("image", images[output.image]) if output.image < len(images) else None
    if OMITTED_MIME in output.data:
        dropped = output.data[OMITTED_MIME]
        return Artifact("omitted", title=", ".join(dropped.get("mimes", [])), size=dropped.get("chars", 0))
    mime, kind = next(((m, k) for m, k in RICH if m in output.data), (None, None))
    if kind is None:
        return None
    value = output.data[mime]
    data = (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)).encode()
    if len(data) > MAX_BYTES:
        return Artifact("omitted", title=mime, size=len(data))
    return write(media_dir, kind, data)


# -- copies: share links, "Continue in my chats", JSON export and import ----------------------


def copy(message: Message, media_dir: Path, allowed: Path, images: dict[str, str]) -> None:
    """Point ``message`` at copies, in ``media_dir`` and under new ids, of its artifact files
    found under ``allowed``; figures follow ``images`` (old path -> copied path). Anything
    else (gone, or not one of this app's files) is left out."""
    root, kept = allowed.resolve(), []
    for artifact in message.artifacts:
        if artifact.kind == "omitted":
            kept.append(artifact)
        elif artifact.kind == "image":
            if artifact.path in images:
                kept.append(replace(artifact, path=images[artifact.path]))
        elif (source := file_inside(artifact.path, root)) is not None:
            media_dir.mkdir(parents=True, exist_ok=True)
            artifact_id, target = _new_path(media_dir, artifact.kind)
            shutil.copyfile(source, target)
            kept.append(replace(artifact, path=str(target), id=artifact_id))
    message.artifacts = kept


def contents(message: dict, allowed: Path) -> None:
    """A message of a JSON export: each artifact carries its file's text (``content``), so
    the file imports anywhere; figures are left out, as images are."""
    root = allowed.resolve()
    kept = []
    for artifact in message.get("artifacts", []):
        source = file_inside(artifact.get("path", ""), root)
        if artifact.get("kind") == "omitted":
            kept.append(artifact)
        elif artifact.get("kind") != "image" and source is not None:
            kept.append({**artifact, "path": source.name, "content": source.read_text(errors="replace")})
    if kept:
        message["artifacts"] = kept
    else:
        message.pop("artifacts", None)


def check_imported(artifacts) -> bool:
    """Whether a message's ``artifacts`` in an imported file are what an export writes."""
    return isinstance(artifacts, list) and all(
        isinstance(a, dict)
        and (a.get("kind") in EXTENSIONS and isinstance(a.get("content"), str) or a.get("kind") == "omitted")
        and all(isinstance(a.get(k, ""), str) for k in ("title", "key"))
        and isinstance(a.get("size", 0), int)
        and (a.get("block") is None or isinstance(a.get("block"), int))
        for a in artifacts
    )


def imported(raw: list[dict], media_dir: Path) -> list[Artifact]:
    """Artifacts of an imported message, written as files of the new conversation."""
    out = []
    for a in raw:
        if a["kind"] == "omitted":
            out.append(Artifact("omitted", title=a.get("title", ""), size=a.get("size", 0)))
            continue
        data = a["content"].encode()
        if len(data) <= MAX_BYTES:
            out.append(write(media_dir, a["kind"], data, title=a.get("title", ""), key=a.get("key", ""), block=a.get("block")))
    return out


def framed(messages: list[Message]) -> list[Artifact]:
    """The artifacts of these messages that ``/artifact/<id>`` serves."""
    return [a for m in messages for a in m.artifacts if a.kind in FRAMED and a.id and a.path]


def file_inside(path: str, root: Path) -> Path | None:
    """``path`` resolved, when it is a file under ``root`` (resolved too)."""
    if not path:
        return None
    source = Path(path).resolve()
    return source if source.is_file() and root in source.parents else None


def versions(messages: list[Message]) -> dict[str, list[Artifact]]:
    """The previewed artifacts of a branch by ``key``, each list in the order they came: the
    versions of one artifact, across turns."""
    out: dict[str, list[Artifact]] = {}
    for artifact in framed(messages):
        if artifact.key:
            out.setdefault(artifact.key, []).append(artifact)
    return out
