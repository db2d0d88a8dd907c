"""The one registry of GLM-4's built-in tools: what the model writes after each name, how
the tool is described when a template only takes function specs, and how the UI shows it.

Everything that needs to know the built-ins (the output parsers, the declarations, the step
boxes, the tool switches, the names user functions may not take) reads this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from .i18n import N_


@dataclass(frozen=True)
class BuiltinTool:
    name: str  # what the model writes as the call's header: "python"
    argument: str  # the one string argument when declared as a function: {"code": "..."}
    description: str  # for templates and APIs that take only function specs
    label: str  # the UI's name for it (translated where shown)
    icon: str
    language: str | None  # how the call's body is highlighted (st.code language)
    fences: tuple[str, ...] = ()  # ```lang fences the model may put around the body

    def as_function(self) -> dict:
        """An OpenAI-style function spec with one string argument."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": {
                    "type": "object",
                    "properties": {self.argument: {"type": "string"}},
                    "required": [self.argument],
                },
            },
        }


BUILTINS: dict[str, BuiltinTool] = {
    tool.name: tool
    for tool in (
        BuiltinTool(
            "python",
            "code",
            "Run Python code in a stateful Jupyter notebook and return its output (timeout 60 s). "
            "Files persist in /mnt/data. No internet access.",
            N_("🐍 Python"),
            "🐍",
            "python",
            ("", "python", "py", "python3"),
        ),
        BuiltinTool(
            "simple_browser",
            "command",
            "Browse the web, one command per line: search(query: str, recency_days: int), "
            "mclick(ids: list[int]) to open 3-10 search results, open_url(url: str). "
            "Cite sources as 【{quote id}†{text}】.",
            N_("🌐 Browser"),
            "🌐",
            None,
        ),
        BuiltinTool(
            "cogview",
            "prompt",
            "Generate an image from a detailed English description of about 100 words.",
            N_("🎨 Text-to-image"),
            "🎨",
            None,
        ),
    )
}
FUNCTION_ICON = "🔧"
