"""A scanned PDF (pages that are pictures, no text layer) read by the configured vision model.

Long document mode needs text. When a PDF has none, its pages are rendered as images
(vision/pages.py) and sent to the vision model one page per request, asking for the page's
text as written; the answers, each under its ``[Page N]`` marker as extracted PDFs have them,
become the document, opened by a line that says the text was recognised (so the model, and
whoever reads the card, knows it may hold recognition errors). ``recognise`` is a generator:
the caller shows progress from its events and stops it by closing it, which cancels the page
being read. Plain Python, no Streamlit.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .documents.pdf import page_marker
from .events import Error, Prefill, TextDelta
from .generation import GenerationParams
from .notices import Notice, NoticeError
from .vision.grounding import mark_boxes

PROMPT = (
    "Transcribe all the text on this page exactly as it is written, in reading order. Keep "
    "headings and lists; write tables as Markdown tables. Output only the page's text."
)
# Greedy (a transcription, not an essay); room for a dense page; no thinking where it can be
# switched off (GLM-4.5V/4.6V).
PARAMS = GenerationParams(temperature=0, max_new_tokens=4096, thinking=False)


@dataclass(frozen=True)
class Reading:
    """Progress on one page: ``chars`` of its text so far (repeated as it grows)."""

    page: int
    pages: int
    chars: int


@dataclass(frozen=True)
class PageText:
    page: int
    pages: int
    text: str


class RecognitionError(NoticeError, RuntimeError):
    """The vision model failed on a page; the notice says which and why."""


def recognise(
    pages: list[Path], backend, params: GenerationParams = PARAMS, start: int = 0
) -> Iterator[Reading | PageText]:
    """Each page's text from page ``start + 1`` on, with Reading events while a page is read."""
    total = len(pages)
    for number, path in enumerate(pages[start:], start + 1):
        yield Reading(number, total, 0)
        text: list[str] = []
        chars = 0
        request = [{"role": "user", "content": PROMPT, "images": [str(path)]}]
        with contextlib.closing(backend.stream(request, params)) as events:  # closing cancels
            for event in events:
                if isinstance(event, TextDelta):
                    text.append(event.text)
                    chars += len(event.text)
                    yield Reading(number, total, chars)
                elif isinstance(event, Prefill):
                    yield Reading(number, total, 0)
                elif isinstance(event, Error):
                    raise RecognitionError(Notice("ocr.page_failed", page=number, pages=total, error=event.message))
        yield PageText(number, total, clean("".join(text)))


def clean(text: str) -> str:
    """A page's answer as document text: box markup and stray fences gone."""
    text = mark_boxes(text, lambda box: "").strip()
    if text.startswith("```") and text.endswith("```"):  # the whole page fenced as one block
        text = text.split("\n", 1)[-1].rsplit("```", 1)[0].strip()
    return text


def document_text(read: list[PageText], model: str) -> str:
    """The pages read so far as one document, as pdf.py writes extracted pages."""
    total = read[0].pages if read else 0
    done = f"all {total} pages" if len(read) == total else f"pages 1-{len(read)} of {total}"
    note = (
        f"(Text recognised by {model} from the scanned page images, {done}; it may contain "
        "recognition errors.)"
    )
    pages = [f"{page_marker(p.page)}\n{p.text}" if p.text else page_marker(p.page) for p in read]
    return "\n\n".join([note, *pages])
