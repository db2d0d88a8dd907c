"""A cell's outputs as Jupyter sent them: one text for the model, and every output in order.

The text is what the model reads (prints, results' ``text/plain``, ``[image N]`` where a
figure appeared, tracebacks without ANSI codes), of which only head and tail are kept, so a
cell printing gigabytes costs the app a bounded amount of memory. Beside it each output is
kept in order with its whole MIME bundle (``text/html``, ``image/svg+xml``, ``text/markdown``,
``application/json``, a DataFrame's HTML...), bounded in count and size; a stream output only
points at its stretch of the text until ``outputs()`` reads it back.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..notices import Notice
from .base import Image, Output

DISPLAY_CHARS = 1_000_000  # what the UI keeps of one cell's text (50 MB must not reach a page)
MAX_IMAGES = 30
MAX_OUTPUTS = 500  # outputs kept per cell (a run of prints is one)
BUNDLE_CHARS = 20_000_000  # all bundles of one cell; past it only their text/plain is kept
# Marks a bundle whose rich formats were dropped ({"mimes": [...], "chars": n}), so the page
# can say so (glm4_app/artifacts/saved.py).
OMITTED_MIME = "application/vnd.glm4.omitted+json"
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
_IMAGE_MIMES = ("image/png", "image/jpeg")
_RICH = ("execute_result", "display_data", "update_display_data")
NO_OUTPUT = Notice("python.no_output")  # a cell that printed nothing: the user reads it worded


@dataclass
class _Entry:
    kind: str
    span: tuple[int, int]  # its stretch of the text
    data: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    image: int | None = None
    display_id: str | None = None


class Transcript:
    """Collects the iopub messages of one cell. ``on_output``, if given, gets each output as
    it arrives (a stream output with just the new text, carriage returns kept), for a live
    view."""

    def __init__(self, on_output: Callable[[Output], None] | None = None) -> None:
        self.half = DISPLAY_CHARS // 2
        self.on_output = on_output
        self.error = False
        self.clear()

    def clear(self) -> None:
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self.total = 0
        self.images: list[Image] = []
        self._entries: list[_Entry] = []
        self._bundle_chars = 0
        self._clear_pending = False

    # --- the model's text ----------------------------------------------------------------

    def add(self, text: str) -> tuple[int, int]:
        """Append to the text; returns the span it occupies."""
        if "\x1b" in text:
            text = _ANSI.sub("", text)
        if "\r" in text:  # progress bars: each line keeps what its last \r wrote
            lines = text.replace("\r\n", "\n").split("\n")
            text = "\n".join(line[line.rfind("\r") + 1 :] for line in lines)
        start = self.total
        self.total += len(text)
        room = self.half - self._head_len
        if room > 0:
            self._head.append(text[:room])
            self._head_len += len(self._head[-1])
            text = text[room:]
        if text:
            self._tail = (self._tail + text[-self.half :])[-self.half :]
        return start, self.total

    def excerpt(self, limit: int, why: str = "") -> str:
        """The text, or its first and last ``limit // 2`` characters around a marker."""
        head = "".join(self._head)
        whole = self.total == len(head) + len(self._tail)
        if whole and self.total <= limit:
            return head + self._tail or str(NO_OUTPUT)
        first, last = limit // 2, limit - limit // 2
        end = (head + self._tail)[-last:] if whole else self._tail[-last:]
        omitted = self.total - first - last
        because = f" ({why})" if why and not whole else ""
        return f"{head[:first]}\n… {omitted:,} characters omitted{because} …\n{end}"

    def outputs(self) -> tuple[Output, ...]:
        """Every output kept, in order, each with the text it wrote (what of it was kept)."""
        head = "".join(self._head)
        return tuple(
            Output(e.kind, self._text(head, *e.span), e.data, e.metadata, e.image)
            for e in self._entries
        )

    def _text(self, head: str, start: int, end: int) -> str:
        tail_start = self.total - len(self._tail)
        kept_head = head[start:end]
        kept_tail = self._tail[max(start, tail_start) - tail_start : max(end - tail_start, 0)]
        lost = (end - start) - len(kept_head) - len(kept_tail)
        if lost <= 0:
            return kept_head + kept_tail
        return f"{kept_head}\n… {lost:,} characters omitted …\n{kept_tail}"

    # --- Jupyter messages -------------------------------------------------------------------

    def handle(self, msg: dict) -> bool:
        """Take one iopub message of the cell; True when the kernel reports idle."""
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status":
            return content.get("execution_state") == "idle"
        if kind == "clear_output":  # progress displays: drop what came before
            if content.get("wait"):
                self._clear_pending = True
            else:
                self.clear()
            return False
        if self._clear_pending:
            self.clear()
        if kind == "stream":
            self._stream(content.get("name", "stdout"), content.get("text", ""))
        elif kind in _RICH:
            self._display(kind, content)
        elif kind == "error":
            self.error = True
            lines = content.get("traceback") or [f"{content.get('ename')}: {content.get('evalue')}"]
            data = {"ename": content.get("ename", ""), "evalue": content.get("evalue", "")}
            self._keep(_Entry("error", self.add("\n".join(lines) + "\n"), data))
        return False

    def _stream(self, name: str, text: str) -> None:
        span = self.add(text)
        # Live, a progress bar's next state overwrites the last one: carriage returns stay in.
        printed = _ANSI.sub("", text) if "\x1b" in text else text
        last = self._entries[-1] if self._entries else None
        if last is not None and last.kind == name and last.span[1] == span[0]:
            last.span = (last.span[0], span[1])  # one run of prints is one output
            self._notify(last, span, printed)
        else:
            self._keep(_Entry(name, span), printed)

    def _display(self, kind: str, content: dict) -> None:
        data = content.get("data", {})
        display_id = (content.get("transient") or {}).get("display_id")
        image = self._add_image(data)
        index = None
        if image is not None:
            span, index = image
        elif "text/plain" in data:
            span = self.add(data["text/plain"] + "\n")
        else:
            span = (self.total, self.total)
        kept = {k: v for k, v in data.items() if k not in _IMAGE_MIMES}
        size = sum(len(v) if isinstance(v, str) else len(repr(v)) for v in kept.values())
        if self._bundle_chars + size > BUNDLE_CHARS:
            dropped = sorted(k for k in kept if k != "text/plain")
            kept = {k: v for k, v in kept.items() if k == "text/plain"}
            if dropped:
                kept[OMITTED_MIME] = {"mimes": dropped, "chars": size}
        else:
            self._bundle_chars += size
        entry = _Entry(kind, span, kept, content.get("metadata") or {}, index, display_id)
        if kind == "update_display_data" and display_id:
            for earlier in self._entries:  # updated in place, as a notebook shows it
                if earlier.display_id == display_id:
                    earlier.data, earlier.metadata, earlier.image = kept, entry.metadata, index
            self._notify(entry, span)
            return
        self._keep(entry)

    def _add_image(self, data: dict) -> tuple[tuple[int, int], int | None] | None:
        """(span of its marker, index in ``images``) of a PNG/JPEG output; None for others."""
        mime = next((m for m in _IMAGE_MIMES if m in data), None)
        if mime is None:
            return None
        if len(self.images) >= MAX_IMAGES:
            return self.add(f"[image not kept: more than {MAX_IMAGES} in one cell]\n"), None
        self.images.append(Image(base64.b64decode(data[mime]), mime))
        return self.add(f"[image {len(self.images)}]\n"), len(self.images) - 1

    def _keep(self, entry: _Entry, printed: str | None = None) -> None:
        if len(self._entries) < MAX_OUTPUTS:
            self._entries.append(entry)
        self._notify(entry, entry.span, printed)

    def _notify(self, entry: _Entry, span: tuple[int, int], printed: str | None = None) -> None:
        if self.on_output is not None:
            text = printed
            if text is None:
                head = "".join(self._head) if span[0] < self._head_len else ""
                text = self._text(head, *span)
            self.on_output(Output(entry.kind, text, entry.data, entry.metadata, entry.image))
