"""The GLM-4 format's parser (formats/): prose and calls from raw GLM-4 output, same result
whole or chunked. These cases are the parser's held behaviour; they run through the format
interface (``Glm4Format().parser`` / ``.parse``)."""

import json
import random

import pytest

from glm4_app.events import TextDelta, ToolCallDelta, ToolCallStart
from glm4_app.formats import Glm4Format, ParsedOutput
from glm4_app.tool_types import ToolCall

GLM4 = Glm4Format()


def glm4_parser(tools):
    return GLM4.parser(tools)


def parse_output(raw, tools):
    return GLM4.parse(raw, tools)


TOOLS = ("python", "simple_browser", "cogview", "get_weather", "get_time")
A = "<|assistant|>"

BROWSER = "search(\"天气\", recency_days=7)\nmclick([1, 4])\nopen_url('https://x.org')\nsearch('GLM-4')"
COGVIEW = "A watercolor painting of a red fox sleeping under a maple tree, soft morning light."


def weather(city, body=None):
    return ToolCall("get_weather", body or json.dumps({"city_name": city}, ensure_ascii=False), {"city_name": city})


CASES = [
    # id, raw output, expected text, expected calls
    ("plain-text", "Hello! How can I help you today?", "Hello! How can I help you today?", ()),
    ("plain-text-with-leading-newline", "\nHi there.", "Hi there.", ()),
    ("first-line-a-word-then-text", "Sure\nHere is a list:\n- a\n- b", "Sure\nHere is a list:\n- a\n- b", ()),
    ("text-then-python", f"Let me compute.{A}python\nprint(1+1)", "Let me compute.", (ToolCall("python", "print(1+1)"),)),
    (
        "python-fenced",
        f"\nI'll run some code.\n{A}python\n```python\nimport math\nprint(math.pi)\n```",
        "I'll run some code.",
        (ToolCall("python", "import math\nprint(math.pi)"),),
    ),
    ("python-as-json-code", 'python\n{"code": "x = 2\\nprint(x ** 10)"}', "", (ToolCall("python", "x = 2\nprint(x ** 10)"),)),
    ("python-json-raw-newline", 'python\n{"code": "a = 1\nprint(a)"}', "", (ToolCall("python", "a = 1\nprint(a)"),)),
    ("simple-browser-commands", f"simple_browser\n{BROWSER}", "", (ToolCall("simple_browser", BROWSER),)),
    ("cogview-prompt", f"I'll draw it.{A}cogview\n{COGVIEW}", "I'll draw it.", (ToolCall("cogview", COGVIEW),)),
    ("function-json-args", 'get_weather\n{"city_name": "Bangkok"}', "", (weather("Bangkok"),)),
    ("function-empty-args", "get_time\n{}", "", (ToolCall("get_time", "{}", {}),)),
    ("function-fenced-json", 'get_weather\n```json\n{"city_name": "Oslo"}\n```', "", (weather("Oslo"),)),
    (
        "chinese-text-then-call",
        f'我来查一下北京的天气。{A}get_weather\n{{"city_name": "北京"}}',
        "我来查一下北京的天气。",
        (weather("北京"),),
    ),
    (
        "0414-two-calls",
        f'Checking both.{A}get_weather\n{{"city_name": "Paris"}}{A}get_weather\n{{"city_name": "Rome"}}',
        "Checking both.",
        (weather("Paris"), weather("Rome")),
    ),
    ("malformed-json", 'get_weather\n{"city_name": Bangkok}', "", (ToolCall("get_weather", '{"city_name": Bangkok}', None),)),
    ("unknown-tool-with-json", 'get_wether\n{"city_name": "Paris"}', "", (ToolCall("get_wether", '{"city_name": "Paris"}', {"city_name": "Paris"}),)),
    ("unknown-tool-fenced-json", 'get_wether\n```json\n{"a": 1}\n```', "", (ToolCall("get_wether", '{"a": 1}', {"a": 1}),)),
    ("unknown-word-without-json", "Hello\nworld, nice to meet you.", "Hello\nworld, nice to meet you.", ()),
    ("unknown-word-then-code-fence", "Example\n```python\nx = 1\n```", "Example\n```python\nx = 1\n```", ()),
    ("unknown-word-then-bad-json", "Note\n{not json} really", "Note\n{not json} really", ()),
    ("fine-tuned-json", '\n{"name": "get_weather", "arguments": {"city_name": "Oslo"}}', "", (weather("Oslo"),)),
    (
        "fine-tuned-fenced-string-arguments",
        'Let me look.<|assistant|>\n```json\n{"name": "get_weather", "arguments": "{\\"city_name\\": \\"Oslo\\"}"}\n```',
        "Let me look.",
        (weather("Oslo"),),
    ),
    ("fine-tuned-python", '{"name": "python", "arguments": {"code": "print(3)"}}', "", (ToolCall("python", "print(3)"),)),
    ("json-answer-is-not-a-call", '{"name": "Bob", "age": 3}', '{"name": "Bob", "age": 3}', ()),
    ("code-answer-is-prose", "```python\nprint('hi')\n```\nThat prints hi.", "```python\nprint('hi')\n```\nThat prints hi.", ()),
    ("truncated-python", f"Let me see.{A}python\nfor i in range(", "Let me see.", (ToolCall("python", "for i in range("),)),
    ("truncated-json", 'get_weather\n{"city_name": "Ban', "", (ToolCall("get_weather", '{"city_name": "Ban', None),)),
    ("truncated-fence", "python\n```python\nprint(1)\n``", "", (ToolCall("python", "print(1)\n``"),)),
    ("truncated-assistant-token", "Let me compute.<|assis", "Let me compute.", ()),
    ("truncated-after-tool-name", f"Let me compute.{A}python", "Let me compute.", (ToolCall("python", ""),)),
    ("truncated-after-header", f"Let me compute.{A}", "Let me compute.", ()),
    ("truncated-fine-tuned-json", '\n{"name": "get_weather", "argu', '{"name": "get_weather", "argu', ()),
    ("no-newline-tool-name-is-prose", "python", "python", ()),
    ("no-newline-word", "Hello", "Hello", ()),
    ("empty", "", "", ()),
    ("whitespace-only", " \n \n", "", ()),
    ("leading-whitespace", "  \n  Hello there  \n", "Hello there", ()),
    ("leading-whitespace-before-tool-name", " python \nprint(2)", "", (ToolCall("python", "print(2)"),)),
    ("lone-angle-bracket-at-end", "a < b and b <", "a < b and b <", ()),
    ("leaked-stop-token-dropped", "Done.<|observation|>", "Done.", ()),
    ("prose-segments-joined", f"First.{A}\nSecond.", "First.\n\nSecond.", ()),
    # An empty metadata line marks a plain answer, even when its first word is a tool's name.
    ("blank-first-line-then-tool-name-is-prose", "\npython\nis my favourite language.", "python\nis my favourite language.", ()),
    # JSON names a call only when the name is a tool this conversation knows.
    ("json-naming-an-unknown-tool-is-prose", '{"name": "book_flight", "arguments": {"to": "Oslo"}}',
     '{"name": "book_flight", "arguments": {"to": "Oslo"}}', ()),
]


def chunks_of(raw, size):
    return [raw] if size is None else [raw[i : i + size] for i in range(0, len(raw), size)]


def run(chunks, tools=TOOLS):
    parser = glm4_parser(tools)
    events = [e for c in chunks for e in parser.feed(c)] + parser.flush()
    return events, parser.finish()


def check_consistent(events, parsed):
    """The streamed events tell the same story as the parsed output."""
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == parsed.text
    assert [e.name for e in events if isinstance(e, ToolCallStart)] == [c.name for c in parsed.calls]
    assert A not in parsed.text


@pytest.mark.parametrize("raw,text,calls", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
@pytest.mark.parametrize("chunk", [None, 1, 2, 3, 7])
def test_parse_whole_and_chunked(raw, text, calls, chunk):
    events, parsed = run(chunks_of(raw, chunk))
    assert parsed == ParsedOutput(text, calls)
    assert parse_output(raw, TOOLS) == parsed
    check_consistent(events, parsed)


def test_prose_streams_before_the_output_ends_and_calls_stream_in_order():
    parser = glm4_parser(TOOLS)
    assert parser.feed("Let") == []  # "Let" could still be a tool name
    assert parser.feed(" me compute. ") == [TextDelta("Let me compute.")]  # trailing space held
    assert parser.feed("<|assis") == []
    assert parser.feed("tant|>pyth") == []
    assert parser.feed("on\nprint(") == [ToolCallStart("python"), ToolCallDelta("print(")]
    assert parser.feed("1+1)") == [ToolCallDelta("1+1)")]
    assert parser.flush() == []
    assert parser.finish() == ParsedOutput("Let me compute.", (ToolCall("python", "print(1+1)"),))


def test_several_calls_stream_in_order():
    raw = f'Checking.{A}get_weather\n{{"city_name": "Paris"}}{A}python\nprint(1)'
    events, _ = run(chunks_of(raw, 4))
    kinds = [(type(e).__name__, getattr(e, "name", None)) for e in events]
    starts = [k for k in kinds if k[0] == "ToolCallStart"]
    assert starts == [("ToolCallStart", "get_weather"), ("ToolCallStart", "python")]
    first, second = kinds.index(starts[0]), kinds.index(starts[1])
    assert kinds[0][0] == "TextDelta" and all(k[0] == "TextDelta" for k in kinds[:first])
    assert {k[0] for k in kinds[first + 1 : second]} == {"ToolCallDelta"}
    body = "".join(e.text for e in events[first + 1 : second])
    assert body == '{"city_name": "Paris"}'


def test_a_builtin_that_is_switched_off_is_still_a_call_so_the_step_can_say_so():
    parsed = parse_output(f"Let me compute.{A}python\nprint(1)", ["get_weather"])
    assert parsed.calls == (ToolCall("python", "print(1)"),)
    fine_tuned = parse_output('{"name": "python", "arguments": {"code": "print(2)"}}', ["get_weather"])
    assert fine_tuned.calls == (ToolCall("python", "print(2)"),)


def test_chinese_prose_streams_at_once():
    parser = glm4_parser(TOOLS)
    assert parser.feed("北京") == [TextDelta("北京")]


def test_a_possible_json_call_is_held_until_the_segment_ends():
    parser = glm4_parser(TOOLS)
    assert parser.feed('get_wether\n{"city_name": ') == []
    assert parser.feed('"Paris"}') == []
    assert parser.flush() == [ToolCallStart("get_wether"), ToolCallDelta('{"city_name": "Paris"}')]


def test_finish_is_idempotent_and_feed_after_finish_is_ignored():
    parser = glm4_parser(TOOLS)
    parser.feed("Hello")
    first = parser.finish()
    assert parser.feed(" more") == [] and parser.flush() == []
    assert parser.finish() == first == ParsedOutput("Hello", ())


def test_fuzz_slices_and_concatenations_never_raise_and_chunking_does_not_matter():
    rng = random.Random(4)
    corpus = [c[1] for c in CASES] + [A, "<|", "```", "```json\n", "{", "\n", " "]
    for _ in range(1500):
        parts = rng.sample(corpus, rng.randint(1, 3))
        raw = "".join(p[rng.randint(0, len(p)) :][: rng.randint(0, len(p) + 1)] for p in parts)
        whole = parse_output(raw, TOOLS)
        sizes = []
        rest = len(raw)
        while rest > 0:
            sizes.append(min(rest, rng.randint(1, 9)))
            rest -= sizes[-1]
        pieces, at = [], 0
        for n in sizes:
            pieces.append(raw[at : at + n])
            at += n
        events, parsed = run(pieces)
        assert parsed == whole, raw
        check_consistent(events, parsed)
