"""The Z1 reasoning splitter: same result whole or in token-sized chunks."""

import pytest

from glm4_app.events import ReasoningDelta, TextDelta
from glm4_app.reasoning import ReasoningSplitter

CASES = [
    # id, starts_inside, raw output, expected reasoning, expected answer
    # The answer goes on verbatim (leading newlines too): they mean something to the tool parser.
    ("z1-normal", True, "Let me think.\n</think>\n\nThe answer is 4.", "Let me think.\n", "\n\nThe answer is 4."),
    ("z1-writes-own-open-tag", True, "<think>Hmm, 2+2.</think>4", "Hmm, 2+2.", "4"),
    ("z1-cut-by-max-tokens", True, "Still thinking about", "Still thinking about", ""),
    ("z1-empty-reasoning", True, "</think>Direct.", "", "Direct."),
    ("z1-chinese", True, "用户问的是天气。</think>今天晴。", "用户问的是天气。", "今天晴。"),
    ("plain-model", False, "Just an answer with a < sign and </b> tag.", "", "Just an answer with a < sign and </b> tag."),
    ("plain-model-opens-think", False, "<think>idea</think>Answer", "idea", "Answer"),
    ("think-tag-inside-answer-is-text", False, "Use <think> tags like so.", "", "Use <think> tags like so."),
    ("lone-partial-tag-at-end", True, "a </thi", "a </thi", ""),
    ("whitespace-only-output", True, "  \n ", "", ""),
    ("plain-model-blank-first-line-kept", False, "\npython\nis a language.", "", "\npython\nis a language."),
    ("whitespace-before-think", False, "\n<think>idea</think>\nAnswer", "idea", "\n\nAnswer"),
]


def run(chunks, starts_inside):
    splitter = ReasoningSplitter(starts_inside)
    events = [e for c in chunks for e in splitter.feed(c)] + splitter.flush()
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    answer = "".join(e.text for e in events if isinstance(e, TextDelta))
    return reasoning, answer


@pytest.mark.parametrize("starts_inside,raw,reasoning,answer", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("chunk", [None, 1, 2, 3, 7])
def test_split_whole_and_chunked(starts_inside, raw, reasoning, answer, chunk):
    chunks = [raw] if chunk is None else [raw[i : i + chunk] for i in range(0, len(raw), chunk)]
    assert run(chunks, starts_inside) == (reasoning, answer)


def test_answer_text_streams_before_the_output_ends():
    splitter = ReasoningSplitter(starts_inside=True)
    assert splitter.feed("why</think>Hel") == [ReasoningDelta("why"), TextDelta("Hel")]
    assert splitter.feed("lo") == [TextDelta("lo")]


def test_a_heartbeat_between_the_halves_of_a_tag_does_not_leak_it():
    from glm4_app.events import Done, Prefill, Stats
    from glm4_app.reasoning import split_reasoning

    done = Done(Stats(5, 3, 100, 0.1, 0.1, "stop"))
    raw = [TextDelta("Let me think."), TextDelta("</th"), Prefill(5, 5), TextDelta("ink>Paris."), done]
    events = list(split_reasoning(raw, starts_inside=True))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Let me think."
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Paris."
    assert events[-1] == done
