"""The UI speaks English and Chinese, and stays that way as people add UI.

An AST scan finds visible text handed to Streamlit without ``t()``; the catalog checks keep
every translated string present, with the same ``{placeholders}``, and nothing stale. What
other modules tell users are notices (a kind and values): every kind made anywhere has words in
both languages with exactly the values it is made with, and none is stale.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from glm4_app.i18n import LANGUAGES, language_of_locale, placeholders, resolve, translate
from glm4_app.locales.notices_en import NOTICES as ENGLISH
from glm4_app.locales.notices_zh import NOTICES as CHINESE
from glm4_app.locales.zh import UI
from glm4_app.messages import Message
from glm4_app.notices import Notice, word

ROOT = Path(__file__).resolve().parent.parent
UI_FILES = sorted(
    [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "glm4_app" / "ui").glob("*.py")]
)
NON_UI_FILES = sorted(
    p for p in (ROOT / "glm4_app").rglob("*.py") if "ui" not in p.relative_to(ROOT / "glm4_app").parts[:1]
    and p.parent.name != "locales"
)

# Streamlit calls whose text arguments a user reads. Receivers vary (st, st.sidebar, columns,
# placeholders, status boxes), so calls are recognised by the method name.
ELEMENTS = {
    "markdown", "caption", "write", "text", "title", "header", "subheader", "info", "warning",
    "error", "success", "toast", "exception", "button", "download_button", "link_button",
    "page_link", "form_submit_button", "checkbox", "toggle", "radio", "selectbox", "multiselect",
    "slider", "select_slider", "number_input", "text_input", "text_area", "chat_input",
    "file_uploader", "camera_input", "date_input", "time_input", "color_picker", "expander",
    "status", "spinner", "progress", "update", "tabs", "popover", "segmented_control", "pills",
    "set_page_config", "metric", "image", "dialog", "form",
}
TEXT_KWARGS = {"label", "placeholder", "help", "text", "body", "title", "page_title", "caption"}
# file:line of literals that are deliberately not translated (none needed so far)
ALLOWED: set[str] = set()


def _has_words(text: str) -> bool:
    return re.search(r"[^\W\d_]", text) is not None  # letters of any script


def _visible_literals(node: ast.AST):
    """String literals in an argument expression that would reach the screen untranslated."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if _has_words(node.value):
            yield node
    elif isinstance(node, ast.JoinedStr):
        if any(isinstance(v, ast.Constant) and _has_words(v.value) for v in node.values):
            yield node
    elif isinstance(node, ast.BinOp):
        yield from _visible_literals(node.left)
        yield from _visible_literals(node.right)
    elif isinstance(node, ast.IfExp):
        yield from _visible_literals(node.body)
        yield from _visible_literals(node.orelse)
    elif isinstance(node, (ast.List, ast.Tuple)):  # st.tabs([...]), radio options
        for element in node.elts:
            yield from _visible_literals(element)
    # calls (t(...), tm(...), anything else) and names are not literals


def _untranslated(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for call in ast.walk(tree):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)):
            continue
        if call.func.attr not in ELEMENTS:
            continue
        kwargs = {k.arg: k.value for k in call.keywords}
        args = list(call.args) + [v for k, v in kwargs.items() if k in TEXT_KWARGS]
        if "format_func" in kwargs:  # the options are keys; format_func shows them
            args = [a for a in args if not isinstance(a, (ast.List, ast.Tuple))]
        elif "options" in kwargs:
            args.append(kwargs["options"])
        for arg in args:
            for literal in _visible_literals(arg):
                where = f"{path.relative_to(ROOT)}:{literal.lineno}"
                if where not in ALLOWED:
                    found.append(where)
    return found


def _marked_literals() -> dict[str, str]:
    """Every literal given to t() or N_() in the UI and the page tables, with its place."""
    marked = {}
    for path in UI_FILES + NON_UI_FILES:
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Name)
                and call.func.id in ("t", "N_")
                and call.args
            ):
                first = call.args[0]
                assert isinstance(first, ast.Constant) and isinstance(first.value, str) or call.func.id == "t", (
                    f"N_() takes a literal: {path.relative_to(ROOT)}:{call.lineno}"
                )
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    marked[first.value] = f"{path.relative_to(ROOT)}:{call.lineno}"
    return marked


def test_every_visible_string_in_the_ui_goes_through_t():
    offenders = [where for path in UI_FILES for where in _untranslated(path)]
    assert offenders == [], "wrap these in t(...): " + ", ".join(offenders)


def test_the_scan_catches_an_unwrapped_label(tmp_path):
    """The scan itself works: it names a bare label, a bare f-string help, a bare
    concatenation and a bare tab name, and accepts translated text, text without words and
    options shown through format_func."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import streamlit as st\n"
        "st.button('Save')\n"
        "cols[0].toggle(t('On'), help=f'Turns {x} on')\n"
        "st.caption('Cut: ' + note)\n"
        "st.caption(t('Fine {n}', n=1))\n"
        "st.button('✕')\n"
        "st.markdown(f'- {step}')\n"
        "st.tabs(['Plots', t('Tables')])\n"
        "st.radio(t('Pick'), ['a1', 'b2'], format_func=t)\n"
    )
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = _untranslated(sample)
    finally:
        ROOT = saved
    assert found == ["sample.py:2", "sample.py:3", "sample.py:4", "sample.py:8"]


def test_every_translated_string_has_a_chinese_entry_with_the_same_placeholders():
    marked = _marked_literals()
    missing = [f"{text!r} ({where})" for text, where in marked.items() if text not in UI]
    assert missing == [], "add to glm4_app/locales/zh.py: " + "; ".join(missing)
    wrong = [key for key, zh in UI.items() if placeholders(key) != placeholders(zh)]
    assert wrong == [], f"placeholders differ: {wrong}"
    unused = [key for key in UI if key not in marked]
    assert unused == [], f"no longer used, remove from zh.py: {unused}"


def test_chinese_catalog_is_chinese():
    """Each entry with words is actually translated, not a copy of the English."""
    same_in_chinese = {"Top p"}
    copies = [k for k, zh in UI.items() if zh == k and k not in same_in_chinese]
    copies += [k for k, zh in CHINESE.items() if zh == ENGLISH.get(k) and _has_words(re.sub(r"\{[^}]*\}|`[^`]*`", "", zh))]
    assert copies == [], copies
    wordy = [k for k in UI if _has_words(re.sub(r"\{[^}]*\}", "", k)) and k not in same_in_chinese]
    assert all(re.search(r"[\u4e00-\u9fff]", UI[k]) for k in wordy)


def test_every_notice_kind_has_both_wordings_with_the_same_fields():
    assert sorted(ENGLISH) == sorted(CHINESE)
    differ = [k for k in ENGLISH if placeholders(ENGLISH[k]) != placeholders(CHINESE[k])]
    assert differ == [], f"fields or formats differ: {differ}"


def fields(template: str) -> list[str]:
    """The values a template is worded with: its placeholders' names, once each, sorted."""
    return sorted({p.partition(":")[0] for p in placeholders(template)} - {""})


def _notices_made() -> list[tuple[str, str | None, set[str] | None]]:
    """(where, kind, value names) of every ``Notice(...)`` in the non-UI modules; kind None when
    it is not a literal, names None when they are spread from a mapping."""
    made = []
    for path in NON_UI_FILES:
        if path.name == "notices.py":  # the type itself, rebuilding notices from data
            continue
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "Notice":
                first = call.args[0] if call.args else None
                kind = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
                names = {k.arg for k in call.keywords}
                made.append((f"{path.relative_to(ROOT)}:{call.lineno}", kind, None if None in names else names))
    return made


def test_every_notice_a_module_makes_is_worded_with_exactly_its_values():
    """A kind made anywhere is in the catalogs, and the values it is made with are the fields
    its words use: a renamed value or a typo fails here, not in front of a user."""
    made = _notices_made()
    assert len(made) > 200
    not_literal = [where for where, kind, _ in made if kind is None]
    assert not_literal == [], f"make notices with a literal kind: {not_literal}"
    unknown = [f"{kind} ({where})" for where, kind, _ in made if kind not in ENGLISH]
    assert unknown == [], f"add to glm4_app/locales/notices_en.py and notices_zh.py: {unknown}"
    wrong = [
        f"{kind} ({where}): made with {sorted(names)}, worded with {fields(ENGLISH[kind])}"
        for where, kind, names in made
        if names is not None and sorted(names) != fields(ENGLISH[kind])
    ]
    assert wrong == []
    stale = sorted(set(ENGLISH) - {kind for _, kind, _ in made})
    assert stale == [], f"no module makes these any more: {stale}"


# Errors and refusals that carry a notice: made with text, they would reach users in English.
_CARRIERS = {
    "DocumentError", "ScannedPdf", "WorkerLost", "ImageError", "PagesError", "DoesNotFit", "ImportProblem",
    "AccountError", "RecognitionError", "OfflineModelMissing", "LoadError", "Refusal", "Error", "Fit",
}


def test_no_module_hands_users_an_english_sentence():
    """Where a module refuses, fails or notes something for the user, it gives a notice, never
    a sentence it wrote itself (the way this app used to, translated back by regexes)."""
    sentences = []
    for path in NON_UI_FILES:
        for call in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in _CARRIERS:
                for arg in [*call.args, *(k.value for k in call.keywords)]:
                    text = arg.value if isinstance(arg, ast.Constant) else None
                    if isinstance(arg, ast.JoinedStr) or isinstance(text, str) and " " in text:
                        sentences.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert sentences == []


def test_translate_formats_numbers_in_either_language():
    text = "Context: {used:,} / {window:,} tokens"
    assert translate(text, "en", used=1234, window=8192) == "Context: 1,234 / 8,192 tokens"
    assert translate(text, "zh", used=1234, window=8192) == "上下文：1,234 / 8,192 token"
    assert translate("No such entry", "zh") == "No such entry"


def test_a_notice_is_worded_with_its_values_in_either_language():
    from glm4_app.backend.manager import offline_notice
    from glm4_app.doc_budget import DoesNotFit, fit

    notice = offline_notice(Notice("offline.no_gpu"))
    zh = word(notice, "zh")
    assert zh.startswith("未检测到 GPU") and "SmolLM2" in zh and "GLM4_CHAT_MODEL" in zh
    assert str(notice).startswith("No GPU was found, so this app runs") and word(notice, "en") == str(notice)
    with pytest.raises(DoesNotFit) as problem:
        fit("", [{"role": "user", "content": "x"}], 100, 10, lambda m: 500, None)
    assert problem.value.notice == Notice("fit.over", tokens=500, window=100, reserve=10)
    zh = word(problem.value, "zh")
    assert "500" in zh and "100" in zh and "10" in zh and "token" in zh and "The" not in zh
    assert "1,234,567" in word(Notice("engine.context_too_long", tokens=1234567, window=8192), "zh")
    assert word("An English sentence from an older file", "zh") == "An English sentence from an older file"


def test_a_notice_from_another_version_still_says_something():
    """A saved notice whose kind or values this version does not know shows its data (or the
    English), never an exception on the page."""
    assert word(Notice("no.such_kind", name="a.pdf"), "zh") == "no.such_kind (name=a.pdf)"
    assert word(Notice("documents.empty"), "zh") == "documents.empty"  # its value is missing
    assert word(Notice("engine.queue_full", count="many"), "en").startswith("The server is busy: many")
    wrong_type = Notice("engine.context_too_long", tokens="lots", window=8192)  # {tokens:,} fails
    assert word(wrong_type, "zh").startswith("engine.context_too_long")


def test_notices_saved_in_a_conversation_read_in_the_readers_language():
    """An answer's error and note and a document's notes are stored as data, so one saved in
    English reads in Chinese later; a file from before notices shows its English as it is."""
    import json

    from glm4_app.conversation import Conversation

    answer = Message(
        "assistant",
        "partial",
        error=Notice("engine.out_of_memory", tokens=9000),
        note=Notice("import.files_not_imported", note=Notice("fit.turns_dropped", count=2)),
    )
    question = Message("user", "q", documents=[{"name": "a.pdf", "notes": [Notice("documents.text_cut", count=5)]}])
    conversation = Conversation(messages=[question, answer])
    conversation.documents = [{"name": "b.pdf", "notes": [Notice("documents.markup_cut", count=7)]}]
    back = Conversation.from_dict(json.loads(json.dumps(conversation.to_dict())))
    saved_answer, saved_question = back.messages[1], back.messages[0]
    assert saved_answer.error == answer.error and saved_answer.note == answer.note
    assert "9,000" in word(saved_answer.error, "zh") and "内存不足" in word(saved_answer.error, "zh")
    assert word(saved_answer.note, "zh") == "为放进上下文，省略了最早的 2 轮对话。（附件未导入）"
    assert word(saved_question.documents[0]["notes"][0], "zh") == "只保留了前 5 个字符。"
    assert word(back.documents[0]["notes"][0], "en") == "Only the first 7 characters of its markup were read."
    old = Message.from_dict({"role": "assistant", "content": "", "error": "Generation failed: boom"})
    assert word(old.error, "zh") == "Generation failed: boom"


def test_a_tool_failure_is_kept_as_a_notice_and_reads_in_the_readers_language(tmp_path):
    """What a tool tells the user travels with the step as a notice beside the English the
    model read: saved, exported and imported, it reads in whatever language the reader uses."""
    from glm4_app.conversation import Conversation
    from glm4_app.history import from_json, to_json
    from glm4_app.tool_steps import step_messages
    from glm4_app.tool_types import ToolCall, ToolResult

    died = Notice("python.kernel_died", reason=Notice("kernel.segfault"))
    result = ToolResult(f"partial output\n{died}", is_error=True, notices=(died,))
    call, observation = step_messages(ToolCall("python", "crash()"), result, tmp_path)
    conversation = Conversation(messages=[Message("user", "q"), call, observation])
    saved = from_json(to_json(conversation).encode(), "me").messages[2]
    assert saved.content == result.text and saved.notices == [died]
    assert saved.shown_in("en") == result.text
    assert saved.shown_in("zh") == "partial output\n[Python 内核已终止（段错误）并已重启；所有变量和导入都已丢失。]"


def test_empty_results_and_calls_not_run_read_in_the_readers_language(tmp_path):
    from glm4_app.agent import not_offered
    from glm4_app.tool_steps import step_messages
    from glm4_app.tool_types import ToolCall, ToolResult
    from glm4_app.tools.transcript import Transcript

    _, empty = step_messages(ToolCall("f", "{}"), ToolResult(""), tmp_path)
    assert empty.content == "[no output]" and empty.shown_in("zh") == "[没有输出]"
    cell = Transcript().excerpt(1000)
    result = ToolResult(cell, notices=(Notice("python.no_output"),))
    _, silent = step_messages(ToolCall("python", "x = 1"), result, tmp_path)
    assert cell == "(no output)" and silent.shown_in("zh") == "（没有输出）"
    off = not_offered(ToolCall("python", "1"), {})
    assert off.not_run == "switched_off" and off.text.startswith("The python tool is switched off")
    assert word(off.notices[0], "zh") == "本对话关闭了 python 工具，因此没有运行。需不借助它回答。可用的工具：无。"


def test_language_follows_setting_then_browser():
    assert set(LANGUAGES) == {"en", "zh"}
    assert resolve("zh", "en-US") == "zh" and resolve("en", "zh-CN") == "en"
    assert resolve("auto", "zh-CN") == "zh" and resolve("auto", "zh_TW") == "zh"
    assert resolve("auto", "de-DE") == "en" and resolve("auto", None) == "en"
    assert language_of_locale("ZH") == "zh"


def _real_messages() -> list:
    """What the real modules tell users, produced by calling them."""
    from glm4_app.agent import _CUT_OFF
    from glm4_app.backend.loader import explain
    from glm4_app.doc_budget import DoesNotFit, fit
    from glm4_app.documents import DocumentError, DocumentLimits, check_total, extract
    from glm4_app.settings import Settings
    from glm4_app.tools.image import available
    from glm4_app.tools.search import not_configured_reason

    made = [*_CUT_OFF.values(), not_configured_reason(Settings()), available(Settings())]
    for err in (OSError("no such repo"), RuntimeError("CUDA out of memory"), ValueError("odd")):
        problem = explain(err, "org/model")
        made += [problem.title, problem.hint]
    for name, data in [
        ("notes.txt", b""),
        ("report.pdf", b"just text, not a PDF"),
        ("blob.txt", bytes(range(256)) * 40),
        ("archive.docx", b"PK\x03\x04" + b"\0" * 100),
        ("scan.pdf", b"%PDF-1.4\n%%EOF"),
        ("photo.docx", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    ]:
        with pytest.raises(DocumentError) as caught:
            extract(name, data, DocumentLimits())
        made.append(caught.value)
    with pytest.raises(DocumentError) as caught:
        check_total(40 * 2**20, 20 * 2**20, DocumentLimits(max_total_mb=50))
    made.append(caught.value)
    turns = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}] * 3
    for strategy in (None, "truncate"):
        with pytest.raises(DoesNotFit) as caught:
            fit("", turns, 100, 10, lambda m: 500, strategy)
        made.append(caught.value)
    return made


def _english_left(zh: str) -> bool:
    """English words in a Chinese sentence, names, settings and code aside."""
    bare = re.sub(r"`[^`]*`|\*\*[^*]*\*\*|\([^)]*\)|（[^）]*）|[\w.-]+\.(?:txt|pdf|docx|png)|[A-Z0-9_]{4,}", "", zh)
    return not re.search(r"[\u4e00-\u9fff]", zh) or re.search(r"\b(the|is|and|or|to|a|an|of)\b", bare) is not None


def test_real_messages_from_other_modules_read_as_chinese():
    """Errors a user meets (bad uploads, load failures, missing tools, context limits) come
    out in Chinese, keeping the file and model names they carry, and in English too."""
    made = _real_messages()
    shown = [word(m, "zh") for m in made]
    assert [m for m, zh in zip(made, shown) if _english_left(zh)] == []
    text = " ".join(shown)
    assert "notes.txt" in text and "report.pdf" in text and "org/model" in text
    assert "Word 文档（.docx）" in text and "PNG 图片" in text and "a Word" not in text
    english = " ".join(word(m, "en") for m in made)
    assert "archive.docx is damaged or incomplete" in english and "photo.docx is a PNG image" in english


def _hosting_and_vision_messages(monkeypatch) -> list:
    """What the hosting, vision, sandbox and model-server modules tell users, made by calling them."""
    import httpx
    import openai

    from glm4_app import auth
    from glm4_app.backend.openai_errors import cut_message, error_event, status_error
    from glm4_app.limits import UserLimits
    from glm4_app.settings import Settings
    from glm4_app.tools import sandbox
    from glm4_app.vision.images import ImageError, ImageLimits, normalise
    from glm4_app.vision.profiles import GLM_4V_9B, GLM_46V, check_context, check_send

    limits = UserLimits(requests_per_minute=1, concurrent=1, upload_mb=1, context_tokens=10, clock=lambda: 0.0)
    made = [
        limits.check_upload(3 * 2**20, "**big.png**").message,
        limits.check_context(1234).message,
    ]
    limits.acquire("u")
    made.append(limits.acquire("u").message)  # one already running
    limits.concurrent = 0
    made.append(limits.acquire("u").message)  # one a minute
    for data in (b"", b"not an image at all"):
        with pytest.raises(ImageError) as caught:
            normalise(data, "photo.png", ImageLimits())
        made.append(caught.value)
    first = [{"role": "user", "content": "q", "images": ["a.png"]}, {"role": "assistant", "content": "a"}]
    made += [
        check_send(GLM_4V_9B, [], ["a.png", "b.png"]).message,
        check_send(GLM_4V_9B, first, ["b.png"]).message,
        check_send(GLM_4V_9B, [], [], "Be brief.").message,
        check_send(GLM_4V_9B, [], ["p1.png"], new_pages=1).message,
        check_send(GLM_46V, [{"role": "user", "content": "q", "images": [f"{i}.png" for i in range(9)]}],
                   ["a.png", "b.png"]).message,
        check_context(9000, 8192, 1024, 12).message,
    ]
    made += [auth.user_name_problem("two words"), *auth.oidc_config_problems({}, False)]
    made += auth.oidc_config_problems({"redirect_uri": "x", "cookie_secret": "short", "client_id": "c"}, True)
    made.append(auth.open_warning(None))
    not_installed, cannot = Notice("sandbox.no_bwrap"), Notice("sandbox.bwrap_cannot", error="EPERM")
    for problem in (None, not_installed, cannot):
        monkeypatch.setattr(sandbox, "isolation_problem", lambda: problem)
        for sandbox_setting, allow in (("on", "false"), ("on", "true"), ("off", "false")):
            settings = Settings(kernel_sandbox=sandbox_setting, allow_unsandboxed_kernel=allow)
            made.append(sandbox.kernel_policy(settings, hosted=True).notice)
    url = "http://gpu-box:8000/v1"
    for status in (401, 404, 429, 500):
        made.append(status_error(status, "nope", url, "glm-4", lambda: ["glm-4-9b"])[0])
    request = httpx.Request("POST", url)
    refused = openai.APIConnectionError(request=request)
    refused.__cause__ = ConnectionRefusedError("Connection refused")
    made += [
        error_event(refused, url, "glm-4", 300, list).message,
        error_event(openai.APITimeoutError(request=request), url, "glm-4", 300, list).message,
        cut_message(url, "peer closed connection"),
    ]
    return made


def test_hosting_vision_and_server_messages_read_as_chinese(monkeypatch):
    """Limits, image and checkpoint refusals, login and OIDC setup problems, the sandbox's
    notices and the model server's errors come out in Chinese, keeping names and numbers."""
    made = [m for m in _hosting_and_vision_messages(monkeypatch) if m is not None]
    shown = [word(m, "zh") for m in made]
    assert [str(m) for m, zh in zip(made, shown) if _english_left(zh)] == []
    text = " ".join(shown)
    assert "**big.png**" in text and "photo.png" in text and "GLM-4V-9B" in text and "gpu-box:8000" in text
    assert "一张图片" in text and "所有网络接口" in text and "沙箱" in text and "glm-4-9b" in text
