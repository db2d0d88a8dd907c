"""The UI language of this session: ``t()`` for every visible string, and the switch.

The choice lives in session state and in the URL (``?lang=``), so a refresh or a shared
link keeps it; without one the ``GLM4_LANGUAGE`` setting decides (``auto``: the browser's).
"""

from __future__ import annotations

import streamlit as st

from ..conversation import DEFAULT_TITLE
from ..i18n import DEFAULT, LANGUAGES, resolve, translate
from ..notices import word
from ..settings import Settings, SettingsError
from .session import session

_WIDGET = "ui_language_switch"  # the picker's widget key (see session.language for the choice)


def language() -> str:
    chosen = session.language
    if chosen in LANGUAGES:
        return chosen
    wanted = st.query_params.get("lang")
    if wanted in LANGUAGES:
        session.language = wanted
        return wanted
    default = session.language_default
    if default is None:  # once per session: t() runs often, even while streaming
        default = session.language_default = resolve(_setting(), _browser_locale())
    return default


def t(text: str, /, **values) -> str:
    """``text`` in this session's language, formatted with ``values``."""
    return translate(text, language(), **values)


def tm(message) -> str:
    """What a non-UI module said (a notice, an error carrying one) in this session's language;
    plain text (an exception's own, an older conversation's English) as it is."""
    return word(message, language())


def shown_title(title: str) -> str:
    """A conversation's title as shown: an untitled one's in this session's language."""
    return t(DEFAULT_TITLE) if title == DEFAULT_TITLE else title


# Words Streamlit writes itself inside its file uploader, which it offers no way to set: the
# button's "Upload" and the "50MB per file • PDF" line. Outside English the button is
# relabelled by CSS and the line hidden: every uploader's own label states its limit and kinds.
_UPLOADER = "[data-testid='stFileUploaderDropzone']"
_UPLOADER_CSS = (
    f"{_UPLOADER} [data-testid='stBaseButton-secondary'] [data-testid='stMarkdownContainer'] p "
    "{{font-size: 0}}\n"
    f"{_UPLOADER} [data-testid='stBaseButton-secondary'] [data-testid='stMarkdownContainer'] p::after "
    '{{content: "{upload}"; font-size: 1rem}}\n'
    f"{_UPLOADER} [data-testid='stFileUploaderDropzoneInstructions'] {{{{display: none}}}}"
)


def streamlit_words() -> None:
    """Streamlit's own words inside widgets, in this session's language (see _UPLOADER_CSS)."""
    if language() != DEFAULT:
        st.html(f"<style>{_UPLOADER_CSS.format(upload=t('Upload'))}</style>")


def switch() -> None:
    """The language picker, under the page links in the sidebar."""
    current = language()
    st.session_state[_WIDGET] = current
    st.selectbox(
        "🌐 " + t("Language"),
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        key=_WIDGET,
        on_change=_chosen,
    )
    if session.language is not None and st.query_params.get("lang") != current:
        st.query_params["lang"] = current  # page links drop the query: put it back


def _chosen() -> None:
    session.language = st.session_state[_WIDGET]
    st.query_params["lang"] = session.language


def _setting() -> str:
    try:
        from .state import _secrets

        return Settings.load(secrets=_secrets()).language
    except SettingsError:
        return "auto"  # the page itself reports bad settings, in English if need be


def _browser_locale() -> str | None:
    try:
        return st.context.locale
    except Exception:  # no browser behind this run (AppTest, bare mode)
        return None
