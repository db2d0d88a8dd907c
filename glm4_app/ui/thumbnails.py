"""Images inside chat bubbles: small thumbnails, the full image one click away.

Clicking a thumbnail, or its "Full size" button, opens the image itself in a new browser tab:
every pixel of it, zoomable with the browser's own viewer (a popover or dialog inside the page
is never wider than the page). The image is served by Streamlit's media endpoint, as
``st.image`` and ``st.download_button`` serve theirs, for as long as the page shows it.
"""

from __future__ import annotations

import mimetypes
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
            url = full_size_url(path)
            st.image(path, width=THUMBNAIL_PX, link=url)
            if url:
                st.link_button(t("🔍 Full size"), url, help=t("Opens the image at full size in a new tab"))


def full_size_url(path: str) -> str | None:
    """Where the browser gets the original file, or None where no server runs (bare mode)."""
    from streamlit import config, runtime

    if not runtime.exists():
        return None
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    # The coordinates name the file for this session: the same path keeps the same entry
    # from run to run, and the file is let go once the page no longer shows it.
    url = runtime.get_instance().media_file_mgr.add(path, mimetype, f"full-size:{path}")
    base = config.get_option("server.baseUrlPath").strip("/")
    return f"/{base}{url}" if base and url.startswith("/") else url
