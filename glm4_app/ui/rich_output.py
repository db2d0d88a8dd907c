"""A code cell's outputs beyond text, in the order the cell made them: figures, HTML (pandas
styles, plotly, bokeh, altair) and SVG in the sandboxed preview frame (artifacts.py), a
DataFrame as an interactive table drawn from the kernel's own data, Markdown, LaTeX and JSON;
then previews of the web pages and SVGs the cell wrote. The model read none of this: it got
the text, as before (tools/transcript.py)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import streamlit as st

from ..artifacts import FRAMED
from ..artifacts.saved import MAX_BYTES
from ..messages import Artifact, Message
from . import artifacts
from .i18n import t

OMITTED_LIMIT_MB = MAX_BYTES // 1_000_000  # (tools/transcript.BUNDLE_CHARS is the same per cell)


def show(observation: Message) -> None:
    if not observation.artifacts:  # saved before rich outputs were kept: its figures only
        for image in observation.images:
            figure(image.path, image.caption)
        return
    captions = {image.path: image.caption for image in observation.images}
    for n, artifact in enumerate(observation.artifacts):
        if artifact.kind == "omitted":
            size = artifact.size / 1_000_000
            st.caption(t("⚠️ An output ({what}, {size:,.1f} MB) was too large to show: the limit is {limit} MB.",
                         what=artifact.title, size=size, limit=OMITTED_LIMIT_MB))
        elif artifact.kind == "image":
            figure(artifact.path, captions.get(artifact.path, ""))
        elif not Path(artifact.path).is_file():
            st.caption(t("(output no longer on disk: {name})", name=Path(artifact.path).name))
        elif artifact.kind in FRAMED:
            artifacts.frame(artifact, f"{observation.id}_{n}")
        else:
            _DRAW[artifact.kind](artifact)


def figure(path: str, caption: str) -> None:
    if Path(path).is_file():
        st.image(path, caption=caption or None)
    else:
        st.caption(t("(image no longer on disk: {name})", name=Path(path).name))


def table(artifact: Artifact) -> None:
    """A DataFrame as the kernel sent it (tools/kernel_startup.table_data)."""
    frame, rows, columns = _table(artifact.path)
    st.dataframe(frame)
    if rows > len(frame) or columns > len(frame.columns):
        st.caption(t("Showing {rows:,} of {total_rows:,} rows and {columns:,} of {total_columns:,} columns.",
                     rows=len(frame), total_rows=rows, columns=len(frame.columns), total_columns=columns))


@lru_cache(maxsize=32)
def _table(path: str):
    """(DataFrame, rows, columns of the whole) of a table file; files never change once
    written, and every rerun draws the history again."""
    import pandas as pd

    data = json.loads(Path(path).read_text())
    index = data["index"]
    if index and isinstance(index[0], list):
        index = pd.MultiIndex.from_tuples([tuple(i) for i in index], names=data.get("index_names"))
    else:
        index = pd.Index(index, name=(data.get("index_names") or [None])[0])
    frame = pd.DataFrame(data["data"], columns=unique(data["columns"]), index=index)
    for column, dtype in zip(frame.columns, data.get("dtypes", [])):
        if dtype.startswith("datetime64"):
            frame[column] = pd.to_datetime(frame[column], errors="coerce")
    return frame, data.get("rows", len(frame)), data.get("columns_total", len(frame.columns))


def unique(names: list[str]) -> list[str]:
    """Column names as a table needs them: each once (``a``, ``a (2)``)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


CACHED_BYTES = 1 << 20  # a larger output (up to MAX_BYTES) is read again rather than kept


def _read(path: str, kind: str):
    """The text of a Markdown or LaTeX output, the value of a JSON one. Small ones are cached
    as ``_table`` is (files never change once written, and every rerun draws the history
    again); 32 large ones kept would hold gigabytes."""
    if Path(path).stat().st_size <= CACHED_BYTES:
        return _read_cached(path, kind)
    return _parse(path, kind)


@lru_cache(maxsize=32)
def _read_cached(path: str, kind: str):
    return _parse(path, kind)


def _parse(path: str, kind: str):
    text = Path(path).read_text()
    return json.loads(text) if kind == "json" else text


def latex(artifact: Artifact) -> None:
    text = _read(artifact.path, "latex").strip()
    for fence in ("$$", "$"):
        if text.startswith(fence) and text.endswith(fence) and len(text) > 2 * len(fence):
            text = text[len(fence) : -len(fence)]
            break
    st.latex(text)


_DRAW = {
    "table": table,
    "markdown": lambda a: st.markdown(_read(a.path, "markdown")),
    "latex": latex,
    "json": lambda a: st.json(_read(a.path, "json"), expanded=2),  # (st.json copies, never changes it)
}
