"""UI languages, gettext style: the English source text is the key of the UI's catalog.

``translate`` serves the UI's own strings (``t()`` in glm4_app/ui). What modules that know
nothing of the UI tell users (load errors, document errors, the engine's errors, limits) are
notices, a kind plus values, worded per language by notices.word (see notices.py). What is
sent to the model is never translated: the model's language is not the UI's.
"""

from __future__ import annotations

import string

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


def translate(text: str, lang: str, /, **values) -> str:
    """``text`` in ``lang`` (English when there is no entry), formatted with ``values``."""
    template = _catalog(lang).get(text, text)
    return template.format(**values) if values else template


def placeholders(template: str) -> list[str]:
    """The ``{fields}`` of a template, format specs included, sorted (for the catalog test)."""
    fields = string.Formatter().parse(template)
    return sorted(f"{name}:{spec}" for _, name, spec, _ in fields if name is not None)


def language_of_locale(locale: str | None) -> str:
    """The UI language for a browser locale such as ``zh-CN``; English for anything else."""
    if locale and locale.lower().split("-")[0].split("_")[0] == "zh":
        return "zh"
    return DEFAULT


def resolve(setting: str, locale: str | None) -> str:
    """The language to start with: the ``language`` setting, ``auto`` following the browser."""
    return setting if setting in LANGUAGES else language_of_locale(locale)
