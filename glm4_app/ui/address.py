"""This page's address as the browser opened it (``st.context.url``: scheme, host and path,
never the query), for what must name this server or this page in full: share links, the
API's base URL, previews in an export, where signing in comes back to."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

import streamlit as st


def page_url() -> SplitResult | None:
    """None when no browser is behind this run (AppTest, bare mode)."""
    try:
        url = st.context.url
    except Exception:  # no script run context at all
        return None
    return urlsplit(url) if url else None


def origin() -> str:
    """``scheme://host[:port]`` of this page; "" when unknown (links stay relative)."""
    url = page_url()
    return f"{url.scheme}://{url.netloc}" if url and url.netloc else ""
