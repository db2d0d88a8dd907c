"""What every page shares: page config and the navigation links in the sidebar.

The layout keeps pages in ``pages/``, which makes Streamlit use its file-based multipage
mode (``st.navigation`` would only take over after the main script ran once, so a first visit
straight to /tools would show raw file names). The automatic list is hidden in
.streamlit/config.toml and these links, with proper names, work in every case.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from . import login, state

LOGO = str(Path(__file__).resolve().parents[2] / "assets" / "logo.svg")
PAGES = [
    ("app.py", "Chat", "💬"),
    ("pages/tools.py", "All Tools", "🧰"),
    ("pages/documents.py", "Long document", "📄"),
    ("pages/vision.py", "Vision", "🖼️"),
]


def frame(title: str) -> None:
    st.set_page_config(page_title=f"{title} · GLM-4", page_icon=LOGO, layout="wide")
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
    login.gate(state.settings())  # nothing below is drawn for a visitor who must log in first
