"""The layering rules: Streamlit stays in the UI, torch/transformers stay in the backend."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(
    p for p in [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("glm4_app/**/*.py")]
)


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def is_ui(path: Path) -> bool:
    rel = path.relative_to(ROOT).as_posix()
    return rel == "app.py" or rel.startswith(("pages/", "glm4_app/ui/"))


def is_backend(path: Path) -> bool:
    return path.relative_to(ROOT).as_posix().startswith("glm4_app/backend/")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_layering(path):
    roots = imported_roots(path)
    if not is_ui(path):
        assert "streamlit" not in roots, "only app.py, pages/ and glm4_app/ui/ may import streamlit"
    if not is_backend(path):
        assert not roots & {"torch", "transformers"}, "only glm4_app/backend/ may import torch/transformers"


def test_pages_stay_thin():
    for page in ROOT.glob("pages/*.py"):
        assert len(page.read_text().splitlines()) <= 10, f"{page.name}: move logic into glm4_app/ui/"


def test_the_streaming_core_imports_without_streamlit_or_torch():
    import subprocess
    import sys

    code = (
        "import sys; import glm4_app.events, glm4_app.reasoning, glm4_app.conversation, "
        "glm4_app.scripted, glm4_app.store, glm4_app.settings, glm4_app.messages, glm4_app.turns; "
        "assert 'streamlit' not in sys.modules and 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
