"""The few plain HTML pages the server draws itself (sign-in, sign-up, sign-out): one card in
the app's colours, readable without JavaScript, in the visitor's language."""

from __future__ import annotations

from html import escape
from pathlib import Path
from urllib.parse import urlencode

from ..i18n import LANGUAGES, language_of_locale, translate

LOGO = (Path(__file__).resolve().parents[2] / "assets" / "logo.svg").read_text()

_STYLE = """
:root { color-scheme: light dark; --accent: #3b5bdb; --bg: #f5f6f8; --card: #fff; --text: #1f2328;
  --muted: #5f6b7a; --line: #d0d7de; --error-bg: #fdecea; --error: #a4262c; --note-bg: #e8f0fe; }
@media (prefers-color-scheme: dark) { :root { --bg: #0e1117; --card: #1a1d24; --text: #e6e6e6;
  --muted: #9aa4b2; --line: #30363d; --error-bg: #3b1d20; --error: #ff8a8a; --note-bg: #1c2a4a; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: flex; align-items: center; justify-content: center;
  background: var(--bg); color: var(--text);
  font: 16px/1.5 "Source Sans Pro", "Segoe UI", Roboto, Helvetica, Arial, "Noto Sans CJK SC", sans-serif; }
main { width: min(400px, 92vw); background: var(--card); border: 1px solid var(--line);
  border-radius: 14px; padding: 32px 32px 24px; box-shadow: 0 4px 24px rgba(0,0,0,.06); }
header { display: flex; align-items: center; gap: 12px; margin-bottom: 20px; }
header svg { width: 40px; height: 40px; }
h1 { font-size: 1.35rem; margin: 0; }
label { display: block; font-weight: 600; margin: 14px 0 4px; }
input { width: 100%; padding: 10px 12px; font: inherit; color: var(--text); background: transparent;
  border: 1px solid var(--line); border-radius: 8px; }
input:focus { outline: 2px solid var(--accent); border-color: transparent; }
button { width: 100%; margin-top: 22px; padding: 10px; font: inherit; font-weight: 600; color: #fff;
  background: var(--accent); border: 0; border-radius: 8px; cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); border: 1px solid var(--accent); margin-top: 10px; }
.error { background: var(--error-bg); color: var(--error); padding: 10px 12px; border-radius: 8px; }
.note { background: var(--note-bg); padding: 10px 12px; border-radius: 8px; }
p.muted, footer { color: var(--muted); font-size: .9rem; }
footer { margin-top: 22px; display: flex; justify-content: space-between; gap: 8px; flex-wrap: wrap; }
a { color: var(--accent); }
"""


def language(query_lang: str | None, accept_language: str | None) -> str:
    """``?lang=`` when given, else the browser's first language (English otherwise)."""
    if query_lang in LANGUAGES:
        return query_lang
    first = (accept_language or "").split(",")[0].split(";")[0].strip()
    return language_of_locale(first or None)


def translator(lang: str):
    return lambda text, **values: translate(text, lang, **values)


def page(lang: str, title: str, body: str, footer: str = "", keep: dict | None = None) -> str:
    """A whole page; ``title`` is plain text, ``body`` and ``footer`` are HTML. ``keep``: query
    parameters the language links carry over (where to go after signing in)."""
    switch = " · ".join(
        f'<a href="?{escape(urlencode({**(keep or {}), "lang": code}))}">{escape(name)}</a>'
        for code, name in LANGUAGES.items()
        if code != lang
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · GLM-4</title><style>{_STYLE}</style></head><body><main>"
        f"<header>{LOGO}<h1>{escape(title)}</h1></header>{body}"
        f"<footer><span>{footer}</span><span>{switch}</span></footer></main></body></html>"
    )


def message(kind: str, text: str) -> str:
    """An error or a note above a form (``text`` is plain text)."""
    return f'<p class="{kind}" role="{"alert" if kind == "error" else "status"}">{escape(text)}</p>'


def field(
    label: str, name: str, kind: str = "text", value: str = "", autocomplete: str = ""
) -> str:
    auto = f' autocomplete="{autocomplete}"' if autocomplete else ""
    return (
        f'<label for="{name}">{escape(label)}</label>'
        f'<input id="{name}" name="{name}" type="{kind}" value="{escape(value)}" required{auto}>'
    )


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{name}" value="{escape(value)}">'
