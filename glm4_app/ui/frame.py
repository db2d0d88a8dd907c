"""What every page shares: page config and the navigation links in the sidebar.

The layout keeps pages in ``pages/``, which makes Streamlit use its file-based multipage
mode (``st.navigation`` would only take over after the main script ran once, so a first visit
straight to /tools would show raw file names). The automatic list is hidden in
.streamlit/config.toml and these links, with proper names, work in every case.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ..i18n import N_
from . import login, share, state
from .i18n import streamlit_words, switch, t

APP_NAME = "GLM-4"
LOGO = str(Path(__file__).resolve().parents[2] / "assets" / "logo.svg")
PAGES = [
    ("app.py", N_("Chat"), "💬"),
    ("pages/tools.py", N_("All Tools"), "🧰"),
    ("pages/documents.py", N_("Long document"), "📄"),
    ("pages/vision.py", N_("Vision"), "🖼️"),
]


def frame(title: str) -> None:
    """``title`` is the English page name; it is shown translated."""
    st.set_page_config(page_title=f"{t(title)} · {APP_NAME}", page_icon=LOGO, layout="wide")
    streamlit_words()
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=t(label), icon=icon)
        switch()
        st.divider()
    settings = state.settings()
    # Nothing below is drawn for a visitor who must sign in first, but a public share link.
    login.gate(settings, open_to_anyone=lambda: share.open_to_anyone(settings))
