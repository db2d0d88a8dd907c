"""UI languages, gettext style: the English source text is the key of the catalogs.

``translate`` serves the UI's own strings (``t()`` in glm4_app/ui). ``translate_message``
serves fixed sentences made by modules that know nothing of the UI (load errors, document
errors, the engine's errors): it recognises the English sentence by its template, so those
modules stay as they are and a message stored in a conversation is translated too.
What is sent to the model is never translated here: the model's language is not the UI's.
"""

from __future__ import annotations

import re
import string
from functools import lru_cache

LANGUAGES = {"en": "English", "zh": "中文"}
DEFAULT = "en"


def N_(text: str) -> str:
    """Marks a literal for translation where it is defined (tables of labels); ``t()``
    translates it where it is shown. The catalog test collects both."""
    return text


def _catalog(lang: str) -> dict[str, str]:
    if lang == "zh":
        from .locales.zh import UI

        return UI
    return {}


def _messages(lang: str) -> dict[str, str]:
    if lang == "zh":
        from .locales.zh_messages import MESSAGES

        return MESSAGES
    return {}


def translate(text: str, lang: str, /, **values) -> str:
    """``text`` in ``lang`` (English when there is no entry), formatted with ``values``."""
    template = _catalog(lang).get(text, text)
    return template.format(**values) if values else template


def placeholders(template: str) -> list[str]:
    """The ``{fields}`` of a template, format specs included, sorted (for the catalog test)."""
    fields = string.Formatter().parse(template)
    return sorted(f"{name}:{spec}" for _, name, spec, _ in fields if name is not None)


def translate_message(text: str, lang: str, _depth: int = 0) -> str:
    """A sentence from a non-UI module in ``lang``; unknown sentences stay as they are."""
    if lang == DEFAULT or not text:
        return text
    catalog = _messages(lang)
    if text in catalog:
        return catalog[text]
    for pattern, target in _patterns(lang):
        found = pattern.fullmatch(text)
        if found is None:
            continue
        values = found.groupdict()
        if _depth < 2:  # a reason or a kind is often a known sentence itself
            values = {
                k: _value(v, lang, _depth) if k in _SENTENCE_FIELDS else v for k, v in values.items()
            }
        return _FIELD.sub(lambda m: values[m.group(1)], target)
    return text


def _value(text: str, lang: str, depth: int) -> str:
    translated = translate_message(text, lang, depth + 1)
    if translated == text and text.startswith(("a ", "an ")):  # "a Word document (.docx)"
        bare = text.split(" ", 1)[1]
        translated = translate_message(bare, lang, depth + 1)
        return text if translated == bare else translated
    return translated


_FIELD = re.compile(r"\{(\w+)\}")
# Fields whose values are themselves sentences from the catalog; others (file names, model
# ids, exception texts) are shown as they are, even when they happen to read like a key.
_SENTENCE_FIELDS = {"reason", "found", "kind", "supported", "problem", "images", "offered", "address"}


@lru_cache(maxsize=None)
def _patterns(lang: str) -> list[tuple[re.Pattern, str]]:
    """Templates with fields, as regexes; longer fixed text first so the most specific wins."""
    compiled = []
    for source, target in _messages(lang).items():
        if not _FIELD.search(source):
            continue
        parts = _FIELD.split(source)  # text, field, text, field, ...
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
        )
        fixed = sum(len(part) for part in parts[::2])
        compiled.append((fixed, re.compile(regex, re.DOTALL), target))
    compiled.sort(key=lambda item: -item[0])
    return [(pattern, target) for _, pattern, target in compiled]


def language_of_locale(locale: str | None) -> str:
    """The UI language for a browser locale such as ``zh-CN``; English for anything else."""
    if locale and locale.lower().split("-")[0].split("_")[0] == "zh":
        return "zh"
    return DEFAULT


def resolve(setting: str, locale: str | None) -> str:
    """The language to start with: the ``language`` setting, ``auto`` following the browser."""
    return setting if setting in LANGUAGES else language_of_locale(locale)
