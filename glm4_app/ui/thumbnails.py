"""Images inside chat bubbles: small thumbnails, the full image one click away."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from .i18n import t

THUMBNAIL_PX = 160


def thumbnails(paths: list[str]) -> None:
    columns = st.columns(min(len(paths), 4) or 1)
    for i, path in enumerate(paths):
        with columns[i % len(columns)]:
            if not Path(path).is_file():  # deleted by hand: say so, do not break the page
                st.caption(t("🖼 image no longer available ({name})", name=Path(path).name))
                continue
            st.image(path, width=THUMBNAIL_PX)
            with st.popover(t("🔍 Full size")):
                st.image(path, width="stretch")
