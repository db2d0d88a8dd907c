"""Export a conversation as Markdown (the branch shown, to read; previews as links) or JSON
(the whole tree, to import again, with the text of its artifacts), and import JSON.

An import is checked fully before anything is saved: a broken or foreign file, or one whose
messages do not make a tree (loops, a message following one not in the file, more than
``MAX_IMPORT_MESSAGES``), raises ``ImportProblem`` with a message for the user and changes
nothing. Files of version 1 (before trees) import as a single branch.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from . import tree
from .artifacts import FRAMED, KINDS, saved
from .conversation import Conversation
from .events import Stats
from .messages import Artifact, Message
from .notices import Notice, NoticeError
from .tool_steps import citations_of
from .tools.browser import link_citations

FORMAT = "glm4-chat-conversation"
VERSION = 2  # 1: a flat list of messages; 2: every message with its parent, and the leaf shown
MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_IMPORT_MESSAGES = 10_000
MODES = {"chat": "Chat", "tools": "All Tools", "documents": "Long document", "vision": "Vision"}
_ROLES = {"system", "user", "assistant", "observation"}
_TEXT_FIELDS = ("id", "parent", "reasoning", "metadata", "display", "model", "call_id", "not_run")
_NOTICE_FIELDS = ("note", "error")  # text, or a notice as data (notices.py)
_FLAGS = ("is_error", "stopped", "partial")
_KINDS = {**KINDS, "table": "Table", "markdown": "Markdown", "latex": "LaTeX", "json": "JSON"}
_DOC_FIELDS = {"name": str, "kind": str, "text": str, "bytes": int, "tokens": int}


class ImportProblem(NoticeError, ValueError):
    """Why a file cannot be imported; nothing of it was kept."""


def to_json(conversation: Conversation, media_root: Path | None = None) -> str:
    """``media_root``: where this server keeps conversations' files; the artifacts found
    there travel in the file (others, and without it all, are left out)."""
    data = conversation.to_dict()
    data.pop("owner", None)  # who it belonged to here means nothing elsewhere
    for message in data["messages"]:
        if media_root is not None:
            saved.contents(message, media_root)
        else:
            message.pop("artifacts", None)
    return json.dumps({"format": FORMAT, "version": VERSION, "conversation": data}, ensure_ascii=False, indent=1)


def to_markdown(conversation: Conversation, link: Callable[[Artifact], str] | None = None) -> str:
    """The branch shown, to read (the JSON export holds every branch); ``link`` gives the
    address of a preview (for its viewer, on this server)."""
    when = datetime.fromtimestamp(conversation.created_at, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# {conversation.title}", "", f"*{MODES.get(conversation.mode, conversation.mode)} · {when}*", ""]
    if conversation.others:
        lines += [f"*The branch shown; {len(conversation.others)} messages of other versions are in the JSON export.*", ""]
    if conversation.system_prompt.strip():
        lines += ["**System prompt:**", "", _quote(conversation.system_prompt), ""]
    cited = citations_of(conversation.messages)  # quotes are numbered across the conversation
    for m in conversation.messages:
        lines += _message_markdown(m, cited) + _artifacts_markdown(m, link) + [""]
    for doc in conversation.documents:
        lines.append(f"📄 Document, not sent yet: **{doc.get('name', '?')}**")
    return "\n".join(lines).rstrip() + "\n"


def _message_markdown(m: Message, cited: dict) -> list[str]:
    if m.role == "user":
        docs = [f"📄 Document: **{doc.get('name', '?')}**" for doc in m.documents]
        return ["## 🧑 User", "", *docs, *([""] if docs else []), m.content]
    if m.role == "observation":
        return [f"**Tool result** ({m.metadata}):", "", "```", m.content, "```"]
    if m.metadata:  # a tool call: its name, then its code or arguments
        return [f"**Tool call `{m.metadata}`:**", "", "```", m.content, "```"]
    out = ["## 🤖 Assistant", ""]
    if m.reasoning:
        out += ["<details><summary>Reasoning</summary>", "", m.reasoning, "", "</details>", ""]
    out.append(link_citations(m.content, cited))  # 【3†source】 as a numbered link, as on the page
    facts = [f"model {m.model}"] if m.model else []
    if m.stopped:
        facts.append("stopped")
    if m.partial:
        facts.append("interrupted")
    if m.error:
        facts.append(f"error: {m.error}")
    return out + (["", f"*({'; '.join(facts)})*"] if facts else [])


def _artifacts_markdown(m: Message, link: Callable[[Artifact], str] | None) -> list[str]:
    out = []
    for a in m.artifacts:
        name = a.title or _KINDS.get(a.kind, a.kind)
        if a.kind in FRAMED and a.id and link is not None:
            out.append(f"- 🧩 Preview: [{name}]({link(a)})")
        elif a.kind in ("table", "markdown", "latex", "json"):
            out.append(f"- 🧩 {_KINDS[a.kind]} output (kept in the JSON export)")
        elif a.kind == "omitted":
            out.append(f"- ⚠️ An output too large to keep ({a.title}, {a.size:,} characters)")
    return ["", *out] if out else []


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in text.splitlines())


def from_json(raw: bytes, owner: str, media_root: Path | None = None) -> Conversation:
    """A new conversation (fresh id, this owner) from an exported file; its artifacts are
    written under ``media_root`` (without it they are left out)."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportProblem(Notice("import.too_large", limit=MAX_IMPORT_BYTES // 1024 // 1024))
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ImportProblem(Notice("import.not_json", error=err)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportProblem(Notice("import.not_an_export"))
    if data.get("version") not in (1, VERSION):
        raise ImportProblem(Notice("import.version", found=repr(data.get("version")), expected=VERSION))
    conv = data.get("conversation")
    if not isinstance(conv, dict):
        raise ImportProblem(Notice("import.no_conversation"))
    if data["version"] == 1:
        conv.pop("leaf", None)  # a flat list: one branch
    elif not isinstance(conv.get("leaf"), str):
        raise ImportProblem(Notice("import.no_leaf"))
    _check(conv)
    if not _chosen_ok(conv.get("chosen", {})):
        conv.pop("chosen")  # which version was shown last at each message: worth no refusal
    conversation = Conversation.from_dict(conv)
    conversation.id = uuid.uuid4().hex[:12]  # never overwrites an existing conversation
    exported = {m.get("id") or f"m{i}": m.get("artifacts") or [] for i, m in enumerate(conv.get("messages", []))}
    for message in [*conversation.messages, *conversation.others]:
        raw_artifacts = exported.get(message.id, [])
        message.artifacts = saved.imported(raw_artifacts, media_root / conversation.id) if media_root else []
        # Paths name files on the exporting machine; here they could name any file of this
        # server (a download button would hand it out), so they are dropped, not followed.
        if message.images or message.files:
            message.images, message.files, message.pages = [], [], []
            message.note = Notice("import.files_not_imported", note=message.note)
    conversation.attached, conversation.attached_pages = [], []
    conversation.owner = owner
    conversation.created_at = float(conv.get("created_at") or time.time())
    return conversation


def _check(conv: dict) -> None:
    if conv.get("mode", "chat") not in MODES:
        raise ImportProblem(Notice("import.unknown_mode", mode=repr(conv.get("mode"))))
    for name in ("title", "system_prompt"):
        if not isinstance(conv.get(name, ""), str):
            raise ImportProblem(Notice("import.not_text", name=name))
    messages = conv.get("messages", [])
    if not isinstance(messages, list):
        raise ImportProblem(Notice("import.not_a_list", name="messages"))
    if len(messages) > MAX_IMPORT_MESSAGES:
        raise ImportProblem(Notice("import.too_many_messages", count=len(messages), limit=MAX_IMPORT_MESSAGES))
    for i, m in enumerate(messages, 1):
        if not isinstance(m, dict) or m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
            raise ImportProblem(Notice("import.not_a_message", number=i))
        if any(not isinstance(m[key], str) for key in _TEXT_FIELDS if key in m) or any(
            not _notice_ok(m[key]) for key in _NOTICE_FIELDS if key in m
        ) or not _notices_ok(m.get("notices", [])):
            raise ImportProblem(Notice("import.field_not_text", number=i))
        if any(not isinstance(m[key], bool) for key in _FLAGS if key in m):
            raise ImportProblem(Notice("import.flag_not_bool", number=i))
        step = m.get("step")
        if step is not None and (not isinstance(step, int) or isinstance(step, bool)):
            raise ImportProblem(Notice("import.step_not_number", number=i))
        if "stats" in m and not _stats_ok(m["stats"]):
            raise ImportProblem(Notice("import.bad_stats", number=i))
        if not _attachments_ok(m):
            raise ImportProblem(Notice("import.bad_attachments", number=i))
        if "artifacts" in m and not saved.check_imported(m["artifacts"]):
            raise ImportProblem(Notice("import.bad_artifacts", number=i))
        if not isinstance(m.get("created_at", 0), (int, float)) or isinstance(m.get("created_at"), bool):
            raise ImportProblem(Notice("import.time_not_number", number=i))
        if not isinstance(m.get("documents", []), list) or not all(_doc_ok(d) for d in m.get("documents", [])):
            raise ImportProblem(Notice("import.bad_message_document", number=i))
    if "leaf" in conv:
        shape = tree.problem([m.get("id", "") for m in messages], [m.get("parent", "") for m in messages], conv["leaf"])
        if shape is not None:
            raise ImportProblem(shape)
    for name in ("documents", "disabled_tools"):
        value = conv.get(name, [])
        if not isinstance(value, list):
            raise ImportProblem(Notice("import.not_a_list", name=name))
    for i, doc in enumerate(conv.get("documents", []), 1):
        if not _doc_ok(doc):
            raise ImportProblem(Notice("import.bad_document", number=i))
    if not isinstance(conv.get("thinking", True), bool):
        raise ImportProblem(Notice("import.not_bool", name="thinking"))
    if conv.get("waiting_for", "") not in ("", "fit"):
        raise ImportProblem(Notice("import.unknown_value", name="waiting_for", value=repr(conv.get("waiting_for"))))
    if conv.get("fit_strategy") not in (None, "truncate", "drop_turns"):
        raise ImportProblem(Notice("import.unknown_value", name="fit_strategy", value=repr(conv.get("fit_strategy"))))
    if not isinstance(conv.get("created_at", 0), (int, float)):
        raise ImportProblem(Notice("import.not_number", name="created_at"))


def _notice_ok(value) -> bool:
    return isinstance(value, str) or isinstance(value, dict) and isinstance(value.get("kind"), str) and isinstance(
        value.get("values", {}), dict
    )


def _notices_ok(value) -> bool:
    """An observation's notices: a list of notices as data (``_notice_ok`` takes text too)."""
    return isinstance(value, list) and all(isinstance(n, dict) and _notice_ok(n) for n in value)


def _doc_ok(doc) -> bool:
    return isinstance(doc, dict) and all(isinstance(doc.get(k), t) for k, t in _DOC_FIELDS.items())


def _chosen_ok(chosen) -> bool:
    return isinstance(chosen, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in chosen.items())


def _attachments_ok(m: dict) -> bool:
    images, files, citations = m.get("images", []), m.get("files", []), m.get("citations", [])
    pages = m.get("pages", [])
    if not all(isinstance(v, list) for v in (images, files, citations, pages)):
        return False
    return (
        all(isinstance(i, str) or (isinstance(i, dict) and isinstance(i.get("path"), str)) for i in images)
        and all(isinstance(f, str) for f in (*files, *pages))
        and all(isinstance(c, dict) and set(c) == {"id", "title", "url"} for c in citations)
        and isinstance(m.get("params", {}), dict)
    )


def _stats_ok(data) -> bool:
    try:
        stats = Stats(**data)
    except TypeError:
        return False
    numbers = [stats.prompt_tokens, stats.completion_tokens, stats.context_window, stats.decode_s,
               stats.cached_tokens] + ([] if stats.ttft_s is None else [stats.ttft_s])
    return all(isinstance(n, (int, float)) and not isinstance(n, bool) for n in numbers) and isinstance(
        stats.finish_reason, str
    )
