"""Fitting documents and conversation into the context window, exactly and never silently.

The prompt is counted with the model's own tokenizer (through the backend's
``count_tokens``). When it does not fit, the user picks what gives: the middle of each
document (head and tail are kept, with a visible marker) or the oldest turns. Either way the
result says what was cut, so the UI can show it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Literal

from .documents import format_for_prompt as documents_block

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
    note: str = ""  # what was cut, for the user; empty when everything fits


class DoesNotFit(ValueError):
    pass


def build_messages(system_prompt: str, docs: list[Doc], turns: list[dict]) -> list[dict]:
    """System prompt, then the documents in a system message of their own (so the document
    part of the prompt never moves when turns are added or dropped), then the turns."""
    messages = []
    if system_prompt.strip():
        messages.append({"role": "system", "content": system_prompt})
    if docs:
        messages.append({"role": "system", "content": documents_block(docs)})
    return messages + turns


def fit(
    system_prompt: str,
    docs: list[Doc],
    turns: list[dict],
    window: int,
    reserve: int,
    count: CountTokens,
    strategy: Strategy | None,
) -> Fit:
    """Messages whose prompt leaves ``reserve`` tokens for the answer, or DoesNotFit (when
    ``strategy`` is None and something would have to be cut, or when nothing can make it fit)."""
    budget = window - reserve
    messages = build_messages(system_prompt, docs, turns)
    tokens = count(messages)
    if tokens <= budget:
        return Fit(messages, tokens)
    if strategy is None:
        raise DoesNotFit(
            f"The documents and conversation take {tokens:,} tokens; the model reads "
            f"{window:,}, and {reserve:,} are kept for the answer."
        )
    if strategy == "drop_turns":
        return _drop_turns(system_prompt, docs, turns, budget, count, tokens)
    return _truncate(system_prompt, docs, turns, budget, count, tokens)


def _drop_turns(system_prompt, docs, turns, budget, count, tokens) -> Fit:
    starts = [i for i, m in enumerate(turns) if m["role"] == "user"]
    for dropped, start in enumerate(starts[1:], 1):  # always keep the latest question
        messages = build_messages(system_prompt, docs, turns[start:])
        kept = count(messages)
        if kept <= budget:
            return Fit(messages, kept, f"The {dropped} oldest turn(s) were left out to fit the context.")
    latest = turns[starts[-1] :] if starts else turns
    needed = count(build_messages(system_prompt, docs, latest))
    raise DoesNotFit(
        f"Even without earlier turns the prompt takes {needed:,} tokens, over the {budget:,} "
        "available: the documents themselves are too long. Shorten the documents instead."
    )


def _truncate(system_prompt, docs, turns, budget, count, tokens) -> Fit:
    doc_tokens = count([{"role": "system", "content": documents_block(docs)}]) if docs else 0
    rest = tokens - doc_tokens
    if not docs or rest >= budget:
        raise DoesNotFit("The conversation alone is too long; drop the oldest turns instead.")
    share = (budget - rest) / doc_tokens
    for _ in range(12):  # token counts are not linear in characters: shrink until it fits
        cut = [_keep_head_and_tail(d, share) for d in docs]
        messages = build_messages(system_prompt, cut, turns)
        kept = count(messages)
        if kept <= budget:
            return Fit(
                messages,
                kept,
                f"The documents were shortened to about {share:.0%} of their length: the start "
                "and end of each are kept, and a marker shows where the middle was left out.",
            )
        share *= 0.9
    raise DoesNotFit("The documents could not be shortened enough; drop the oldest turns instead.")


def _keep_head_and_tail(doc: Doc, share: float) -> Doc:
    if share >= 1:
        return doc
    keep = int(len(doc.text) * share)
    head, tail = doc.text[: keep // 2], doc.text[len(doc.text) - keep // 2 :] if keep >= 2 else ""
    omitted = len(doc.text) - len(head) - len(tail)
    marker = f"\n\n[… {omitted:,} characters from the middle of this document left out to fit the context …]\n\n"
    return replace(doc, text=head + marker + tail)
