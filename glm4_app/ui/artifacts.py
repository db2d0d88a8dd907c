"""Artifacts on the page: an answer's web pages, SVGs and mermaid diagrams as live previews
beside their code, and the preview frame itself (also used for a code cell's HTML and SVG
outputs, see rich_output.py).

The frame is a small component of the app's own (artifact_frame.js): a toolbar with the
versions of the artifact across the turns of the branch shown, reload, full screen, download
and open in a new tab, over an ``<iframe sandbox="allow-scripts">`` that loads
``/artifact/<id>?t=<ticket>``, a ticket for this viewer only (glm4_app/artifacts/access.py).
While an answer is written its blocks show as code; the preview comes once it is saved.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path

import streamlit as st

from ..artifacts import KINDS, access
from ..artifacts.blocks import find
from ..artifacts.saved import file_name, versions
from ..i18n import N_
from ..markdown import to_streamlit_markdown
from ..messages import Artifact, Message
from . import identity, state
from .address import origin
from .i18n import t

_HERE = Path(__file__).resolve().parent
_FRAME = st.components.v2.component(
    "glm4_artifact",
    js=(_HERE / "artifact_frame.js").read_text(),
    css=(_HERE / "artifact_frame.css").read_text(),
)
OUTPUT_KINDS = {"html": N_("HTML output"), "svg": N_("SVG output")}  # a code cell's, untitled
_CODE_LANGUAGES = {"html": "html", "svg": "xml", "mermaid": None}
CODE_CHARS = 200_000  # what the Code tab shows of a version read from its file
DEFAULT_HEIGHT = {"html": 420, "svg": 240, "mermaid": 240}  # until the frame says its own
_BRANCH = threading.local()  # per script run (Streamlit runs each session on its own thread)


def use_branch(messages: list[Message]) -> None:
    """Called by a page before it draws a conversation: previews step through the versions
    of their artifact over these messages."""
    _BRANCH.versions = versions(messages)


def answer(message: Message, links=lambda text: text) -> None:
    """An answer's words, with a preview card in place of each fenced block that has one."""
    previewed = {a.block: a for a in message.artifacts if a.block is not None and a.id}
    if not previewed:
        st.markdown(links(to_streamlit_markdown(message.content)))
        return
    pos = 0
    for n, block in enumerate(find(message.content)):
        words = message.content[pos : block.start]
        if words.strip():
            st.markdown(links(to_streamlit_markdown(words)))
        if n in previewed:
            card(previewed[n], block.code, f"{message.id}_{n}")
        else:
            st.markdown(message.content[block.start : block.end])
        pos = block.end
    if message.content[pos:].strip():
        st.markdown(links(to_streamlit_markdown(message.content[pos:])))


def card(artifact: Artifact, code: str, key: str) -> None:
    """Preview and Code of one artifact of an answer."""
    preview, source = st.tabs([t("👁 Preview"), t("</> Code")])
    with preview:
        chosen = frame(artifact, key)
    with source:
        text = code if chosen is artifact else read(chosen.path)
        st.code(text, language=_CODE_LANGUAGES.get(artifact.kind))


def frame(artifact: Artifact, key: str) -> Artifact:
    """The preview of ``artifact`` with its other versions in the branch shown a click away;
    the version the viewer chose (``artifact`` itself until they choose another)."""
    shown = versions_of(artifact)
    index = [a.id for a in shown].index(artifact.id)
    problem = svg_problem(artifact.path) if artifact.kind == "svg" else ""
    if problem:
        st.warning(t("This SVG is not well-formed XML, so it cannot be drawn: {problem}", problem=problem))
    settings = state.settings()
    who = viewer(settings)
    data = {
        "versions": [_version(settings.data_dir, a, who) for a in shown],
        "index": index,
        "height": DEFAULT_HEIGHT.get(artifact.kind, 420),
        "network": settings.artifact_network == "on",
        "labels": {
            "previous": t("Previous version"),
            "next": t("Next version"),
            "reload": t("Reload"),
            "fullscreen": t("Full screen"),
            "exit": t("Exit full screen"),
            "download": t("Download"),
            "open": t("Open in a new tab"),
            "paused": t("⏸ Paused: a preview on this page stopped responding. This one comes back in a moment…"),
            "stopped": t("⛔ Stopped: a script in this preview never ends, and it froze the previews of this page. Reload to run it again."),
            "left": t("⛔ Stopped: this page tried to open another address, and previews on this server may not use the network. Reload to run it again."),
        },
    }
    result = _FRAME(key=f"artifact_{key}", data=data, default={"version": index}, on_version_change=lambda: None)
    chosen = result.get("version", index)
    return shown[chosen if isinstance(chosen, int) and 0 <= chosen < len(shown) else index]


def _version(data_dir: Path, artifact: Artifact, who: str) -> dict:
    output = not artifact.key and artifact.kind in OUTPUT_KINDS  # a cell's outputs have no versions
    title = artifact.title or t((OUTPUT_KINDS if output else KINDS)[artifact.kind])
    return {
        "src": access.address(data_dir, artifact.id, who),
        "download": access.address(data_dir, artifact.id, who, download=True),
        "name": file_name(artifact),
        "title": title,
    }


def versions_of(artifact: Artifact) -> list[Artifact]:
    """Every version of this artifact in the branch shown, in order (itself alone when the
    branch does not hold it: an answer being written)."""
    found = getattr(_BRANCH, "versions", {}).get(artifact.key, [])
    if all(a.id != artifact.id for a in found):
        return [artifact]
    return [artifact if a.id == artifact.id else a for a in found]


def viewer(settings) -> str:
    """Whom this page shows its previews to (the tickets are theirs): see artifacts/access.py."""
    if settings.auth == "oidc":
        return access.viewer(settings, identity.cookies(), identity.headers())
    found = identity.current()
    return found.owner if found is not None else ""


def link(artifact: Artifact) -> str:
    """The address of a preview for this viewer, in full (for the Markdown export)."""
    settings = state.settings()
    return origin() + access.address(settings.data_dir, artifact.id, viewer(settings))


def read(path: str) -> str:
    try:
        with open(path, errors="replace") as file:
            text = file.read(CODE_CHARS + 1)  # no more than is shown (and one to know there is more)
    except OSError:
        return t("(this file is no longer on disk)")
    return text if len(text) <= CODE_CHARS else text[:CODE_CHARS] + "\n" + t("… (the rest is in the download)")


@lru_cache(maxsize=256)
def svg_problem(path: str) -> str:
    """Why an SVG file cannot be drawn ("" when it can); files never change once written."""
    from defusedxml import ElementTree

    try:
        ElementTree.fromstring(Path(path).read_bytes())
    except OSError:
        return ""
    except Exception as err:  # ParseError, or entities defusedxml refuses
        return str(err)
    return ""
