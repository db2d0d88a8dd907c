"""How tools are written into a prompt, for the two template families.

glm-4-9b-chat's template takes type-specific entries (``{"type": "python"}``, ...) in a system
message's ``tools`` list and writes the Chinese tool descriptions itself. GLM-4-0414/Z1 (and
most HF chat templates) take ``tools=`` as OpenAI-style function specs only, so the built-in
tools are described to them as functions with one string argument.
"""

from __future__ import annotations

from typing import Any

_BUILTIN_AS_FUNCTION = {
    "python": (
        "code",
        "Run Python code in a stateful Jupyter notebook and return its output (timeout 60 s). "
        "Files persist in /mnt/data. No internet access.",
    ),
    "simple_browser": (
        "command",
        "Browse the web, one command per line: search(query: str, recency_days: int), "
        "mclick(ids: list[int]) to open 3-10 search results, open_url(url: str). "
        "Cite sources as 【{quote id}†{text}】.",
    ),
    "cogview": (
        "prompt",
        "Generate an image from a detailed English description of about 100 words.",
    ),
}


def as_function_spec(declaration: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-style ``{"type": "function", "function": {...}}`` for any declaration."""
    kind = declaration["type"]
    if kind == "function":
        return declaration
    argument, description = _BUILTIN_AS_FUNCTION[kind]
    return {
        "type": "function",
        "function": {
            "name": kind,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {argument: {"type": "string"}},
                "required": [argument],
            },
        },
    }


def template_tool_style(chat_template: str | None) -> str | None:
    """``"glm4"`` (type-specific entries), ``"functions"`` (``tools=``), or None (no tools)."""
    if not chat_template or "tools" not in chat_template:
        return None
    if "simple_browser" in chat_template or "item['tools']" in chat_template:
        return "glm4"
    return "functions"
