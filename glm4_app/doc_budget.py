"""Documents in the prompt, where GLM-4 expects them, fitted to the context window exactly
and never silently.

Documents go into the user message of the turn they were uploaded with, in the reference
layout (GLM-4's composite demo, see FORMATS.md "Documents"):
``{[File Name]/[File Content] blocks}\\n\\n\\n{n} files uploaded.\\n{question}``. Earlier
turns never change when a later turn brings files, so the prefix cache keeps serving them.

Turns are prompt dicts; a user turn may carry ``"documents": [Doc, ...]``, which
``build_messages`` writes into its content. The prompt is counted with the model's own
tokenizer (through the backend's ``count_tokens``). When it does not fit, the user picks
what gives: the middle of each document (head and tail are kept, with a visible marker) or
the oldest turns (their documents stay, moved into the first turn kept). Either way the
result says what was cut, so the UI can show it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable, Literal

from .documents import format_for_prompt as documents_block
from .notices import Notice, NoticeError

Strategy = Literal["truncate", "drop_turns"]
CountTokens = Callable[[list[dict]], int]


@dataclass(frozen=True)
class Doc:
    name: str
    text: str


@dataclass(frozen=True)
class Fit:
    messages: list[dict]
    tokens: int
    note: Notice | str = ""  # what was cut, for the user; empty when everything fits


class DoesNotFit(NoticeError, ValueError):
    """Nothing was cut, or cutting cannot help; the notice says which and what to do."""


def _layout(docs: tuple[Doc, ...], question: str) -> str:
    return f"{documents_block(docs)}\n\n\n{len(docs)} files uploaded.\n{question}"


# Every page rerun lays out the same documents again (the meter); a long one takes
# milliseconds to escape. A hit costs next to nothing (a document's text is the same string
# object from run to run, and Python keeps a string's hash) and gives the same string object
# back, whose digest token_counts keeps. Each entry holds a document's text: a few suffice.
_remembered_layout = lru_cache(maxsize=16)(_layout)


def build_messages(system_prompt: str, turns: list[dict], remember: bool = True) -> list[dict]:
    """System prompt, then the turns, each user turn holding the documents it brought
    (``remember``: keep the layout for the next rerun; not for one-off shortened versions)."""
    layout = _remembered_layout if remember else _layout
    messages = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    for turn in turns:
        docs = turn.get("documents")
        if docs is None:
            messages.append(turn)
            continue
        message = {k: v for k, v in turn.items() if k != "documents"}
        message["content"] = layout(tuple(docs), turn["content"]) if docs else turn["content"]
        messages.append(message)
    return messages


def answer_reserve(window: int, max_new_tokens: int) -> int:
    """The tokens a prompt leaves for the answer: its longest, up to a quarter of the window.
    ``fit`` fits prompts into the rest; the meter turns red past it."""
    return min(max_new_tokens, window // 4)


def docs_in(turns: list[dict]) -> list[Doc]:
    return [doc for turn in turns for doc in turn.get("documents") or ()]


def fit(
    system_prompt: str,
    turns: list[dict],
    window: int,
    reserve: int,
    count: CountTokens,
    strategy: Strategy | None,
) -> Fit:
    """Messages whose prompt leaves ``reserve`` tokens for the answer, or DoesNotFit (when
    ``strategy`` is None and something would have to be cut, or when nothing can make it fit)."""
    budget = window - reserve
    messages = build_messages(system_prompt, turns)
    tokens = count(messages)
    if tokens <= budget:
        return Fit(messages, tokens)
    if strategy is None:
        raise DoesNotFit(Notice("fit.over", tokens=tokens, window=window, reserve=reserve))
    if strategy == "drop_turns":
        return _drop_turns(system_prompt, turns, budget, count)
    return _truncate(system_prompt, turns, budget, count, tokens)


def _drop_turns(system_prompt, turns, budget, count) -> Fit:
    starts = [i for i, m in enumerate(turns) if m["role"] == "user"]
    for dropped, start in enumerate(starts[1:], 1):  # always keep the latest question
        kept_turns = _carry_documents(turns, start)
        messages = build_messages(system_prompt, kept_turns)
        kept = count(messages)
        if kept <= budget:
            return Fit(messages, kept, Notice("fit.turns_dropped", count=dropped))
    latest = _carry_documents(turns, starts[-1]) if starts else turns
    needed = count(build_messages(system_prompt, latest))
    raise DoesNotFit(Notice("fit.documents_too_long", tokens=needed, budget=budget))


def _carry_documents(turns: list[dict], start: int) -> list[dict]:
    """``turns[start:]`` (``start`` is a user turn), the documents of the turns left out
    moved into that first kept turn, ahead of its own: leaving out turns never leaves out
    documents."""
    carried = docs_in(turns[:start])
    if not carried:
        return turns[start:]
    first = dict(turns[start])
    first["documents"] = carried + list(first.get("documents") or ())
    return [first, *turns[start + 1 :]]


def _truncate(system_prompt, turns, budget, count, tokens) -> Fit:
    docs = docs_in(turns)
    rest = count(build_messages(system_prompt, _without_documents(turns))) if docs else tokens
    doc_tokens = tokens - rest
    if not docs or rest >= budget or doc_tokens <= 0:
        raise DoesNotFit(Notice("fit.conversation_too_long"))
    share = (budget - rest) / doc_tokens
    for _ in range(12):  # token counts are not linear in characters: shrink until it fits
        messages = build_messages(system_prompt, _shortened(turns, share), remember=False)
        kept = count(messages)
        if kept <= budget:
            return Fit(messages, kept, Notice("fit.documents_shortened", share=share))
        share *= 0.9
    raise DoesNotFit(Notice("fit.cannot_shorten"))


def _without_documents(turns: list[dict]) -> list[dict]:
    return [{k: v for k, v in turn.items() if k != "documents"} for turn in turns]


def _shortened(turns: list[dict], share: float) -> list[dict]:
    return [
        {**turn, "documents": [_keep_head_and_tail(d, share) for d in turn["documents"]]}
        if turn.get("documents") else turn
        for turn in turns
    ]


def _keep_head_and_tail(doc: Doc, share: float) -> Doc:
    if share >= 1:
        return doc
    keep = int(len(doc.text) * share)
    head, tail = doc.text[: keep // 2], doc.text[len(doc.text) - keep // 2 :] if keep >= 2 else ""
    omitted = len(doc.text) - len(head) - len(tail)
    marker = f"\n\n[… {omitted:,} characters from the middle of this document left out to fit the context …]\n\n"
    return replace(doc, text=head + marker + tail)
