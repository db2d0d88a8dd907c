"""The python tool against real Jupyter kernels, hostile code included.

Every kernel here is a real ipykernel process started through the tool's launcher, with small
limits so that the hostile cells end fast. The ``make_tool`` fixture checks at teardown that no
process of the tool's kernels survived (by their working directory, which children inherit).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from glm4_app.notices import word
from glm4_app.settings import Settings
from glm4_app.tools.base import ToolCall
from glm4_app.tools.kernel_process import GRACE_S
from glm4_app.tools.python_tool import PythonTool
from glm4_app.tools.kernel_startup import TABLE_MIME
from glm4_app.tools.transcript import DISPLAY_CHARS, OMITTED_MIME, Transcript

pytestmark = pytest.mark.timeout(120)

FAST = Settings().with_(
    python_timeout_s=2,
    python_output_chars=2000,
    python_memory_mb=1536,
    python_cpu_s=120,
    python_max_processes=32,
    python_file_mb=5,
)


def run(tool: PythonTool, code: str, cancel: threading.Event | None = None):
    return tool.run(ToolCall("python", code), cancel or threading.Event())


def live_processes() -> dict[int, str]:
    """pid -> cwd of every live (non-zombie) process we can see."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X"):
                    continue
            found[int(name)] = os.readlink(f"/proc/{name}/cwd")
        except OSError:
            continue
    return found


def processes_in(folder: Path) -> list[int]:
    return [pid for pid, cwd in live_processes().items() if cwd.startswith(str(folder))]


@pytest.fixture
def make_tool(tmp_path):
    tools = []

    def make(settings: Settings = FAST, name: str = "session") -> PythonTool:
        tool = PythonTool(settings, tmp_path / name)
        tool.start()
        tools.append(tool)
        return tool

    yield make
    for tool in tools:
        tool.shutdown()
    deadline = time.monotonic() + 5
    while processes_in(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_in(tmp_path) == [], "a kernel process survived shutdown()"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One warm kernel for the tests that leave it in a usable state."""
    tool = PythonTool(FAST.with_(python_timeout_s=30), tmp_path_factory.mktemp("shared"))
    tool.start()
    assert tool.ready(60), "the kernel did not start"
    yield tool
    tool.shutdown()


# --- outputs ------------------------------------------------------------------------------


def test_declaration():
    tool = PythonTool(FAST, Path("/tmp"))
    assert tool.name == "python" and tool.declaration() == {"type": "python"}


def test_every_output_in_order_with_the_image(shared):
    result = run(
        shared,
        "print('first')\n"
        "import matplotlib.pyplot as plt\n"
        "plt.plot([1, 2, 3])\n"
        "plt.show()\n"
        "import sys\n"
        "print('to stderr', file=sys.stderr)\n"
        "6 * 7",
    )
    assert not result.is_error, result.text
    text = result.text
    order = [text.index(part) for part in ("first", "[image 1]", "to stderr", "42")]
    assert order == sorted(order), text
    assert len(result.images) == 1
    assert result.images[0].data.startswith(b"\x89PNG") and result.images[0].mime == "image/png"


def test_figure_left_open_is_shown_after_the_result(shared):
    result = run(shared, "import matplotlib.pyplot as plt\nplt.bar(['a', 'b'], [3, 4])\n'done'")
    assert result.text.index("'done'") < result.text.index("[image 1]")
    assert len(result.images) == 1


def test_a_silent_cell_says_so_in_the_readers_language(shared):
    from glm4_app.notices import word

    result = run(shared, "quiet = 1")
    assert not result.is_error and result.text == "(no output)"
    assert [word(n, "zh") for n in result.notices] == ["（没有输出）"]


def test_errors_come_with_a_clean_traceback(shared):
    result = run(shared, "print('before')\ndef f():\n    raise ValueError('bad value')\nf()")
    assert result.is_error
    assert "before" in result.text and "ValueError: bad value" in result.text
    assert "f()" in result.text  # the frames are there
    assert "\x1b" not in result.text  # ANSI colour codes are not


def test_fifty_megabytes_of_output_are_capped_and_bounded(shared):
    # Python objects still alive afterwards (RSS would count freed memory the allocator keeps).
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = run(
        shared,
        "import sys\n"
        "for i in range(50):\n"
        "    sys.stdout.write(str(i % 10) * 1_000_000)\n"
        "print('END')",
    )
    assert not result.is_error
    # The model: head and tail within python_output_chars, with the marker between them.
    assert len(result.text) < 2000 + 100
    assert result.text.startswith("0" * 900) and result.text.rstrip().endswith("9END")
    assert "characters omitted …" in result.text
    # The UI: bounded too, and it says why.
    assert DISPLAY_CHARS <= len(result.display) < DISPLAY_CHARS + 200
    assert f"omitted (over {DISPLAY_CHARS:,} characters)" in result.display
    assert "49,000,004 characters omitted" in result.display  # 50,000,004 in all, 1M kept
    gc.collect()
    kept_mb = (tracemalloc.get_traced_memory()[0] - before) / 2**20
    tracemalloc.stop()
    assert kept_mb < 20, "the app kept the output in memory"


def test_progress_bars_keep_only_their_last_state():
    out = Transcript()
    out.add("10%\r50%\r")
    out.add("100%\nnext\r\nline\x1b[31m red\x1b[0m\n")
    assert out.excerpt(1000) == "100%\nnext\nline red\n"


def test_live_prints_keep_their_carriage_returns():
    """The live view (ui/turn.py) overwrites a progress bar's line as a terminal does, so each
    printed chunk reaches it with its carriage returns (ANSI colours removed)."""
    live = []
    out = Transcript(live.append)
    for text in ("10%", "\r50%", "\r\x1b[32m100%\x1b[0m\n"):
        out.handle({"msg_type": "stream", "content": {"name": "stdout", "text": text}})
    assert [o.text for o in live] == ["10%", "\r50%", "\r100%\n"]


def test_clear_output_drops_what_came_before():
    out = Transcript()
    for msg in (
        {"msg_type": "stream", "content": {"text": "old\n"}},
        {"msg_type": "clear_output", "content": {"wait": True}},
        {"msg_type": "stream", "content": {"text": "new\n"}},
    ):
        out.handle(msg)
    assert out.excerpt(100) == "new\n"


def test_every_output_keeps_its_mime_bundle_in_order(shared):
    """For a richer view later: HTML, Markdown, JSON, SVG and a DataFrame each kept whole and in
    order, while the model's text stays what it was; ``on_output`` sees them as they come."""
    live = []
    result = shared.run(
        ToolCall(
            "python",
            "from IPython.display import display, HTML, Markdown, JSON, SVG\n"
            "import pandas as pd\n"
            "print('first')\n"
            "display(HTML('<b>bold</b>'))\n"
            "display(Markdown('# title'))\n"
            "display(JSON({'a': 1}))\n"
            "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\"/>'))\n"
            "print('last')\n"
            "pd.DataFrame({'x': [1, 2]})",
        ),
        threading.Event(),
        on_output=live.append,
    )
    assert not result.is_error, result.text
    kinds = [(o.kind, sorted(o.data)) for o in result.outputs]
    assert kinds == [
        ("stdout", []),
        ("display_data", ["text/html", "text/plain"]),
        ("display_data", ["text/markdown", "text/plain"]),
        ("display_data", ["application/json", "text/plain"]),
        ("display_data", ["image/svg+xml", "text/plain"]),
        ("stdout", []),
        ("execute_result", [TABLE_MIME, "text/html", "text/plain"]),
    ]
    html = result.outputs[1].data["text/html"]
    assert html == "<b>bold</b>" and result.outputs[3].data["application/json"] == {"a": 1}
    assert "<table" in result.outputs[-1].data["text/html"]
    assert result.outputs[0].text == "first\n" and result.outputs[5].text == "last\n"
    assert result.text.startswith("first\n<IPython.core.display.HTML object>")  # as before
    assert "x\n0  1\n1  2" in result.text
    assert [o.kind for o in live] == [o.kind for o in result.outputs]


def test_rich_outputs_reach_the_page_as_artifacts_and_the_model_keeps_its_text(shared, tmp_path):
    """Each MIME type a notebook shows, through the real kernel to the files the page draws:
    a DataFrame as its data (dates, the full size), HTML, SVG, Markdown, LaTeX, JSON, a figure,
    a 25 MB HTML output too large to keep, and a page the cell wrote; the model's text is
    what it was (reprs, capped)."""
    from glm4_app.tool_steps import step_messages

    code = (
        "from IPython.display import display, HTML, Markdown, Latex, JSON, SVG\n"
        "import pandas as pd, matplotlib.pyplot as plt\n"
        "df = pd.DataFrame({'n': range(1500), 'day': pd.date_range('2024-01-01', periods=1500)})\n"
        "display(df)\n"
        "display(HTML('<table><tr><td>styled</td></tr></table>'))\n"
        "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\"/>'))\n"
        "display(Markdown('**bold**'))\n"
        "display(Latex(r'$$\\frac{1}{2}$$'))\n"
        "display(JSON({'a': [1, 2]}))\n"
        "plt.plot([1, 2]); plt.show()\n"
        "display(HTML('<p>' + 'x' * 25_000_000 + '</p>'))\n"
        "open('/mnt/data/page.html', 'w').write('<title>Chart</title><p>written</p>')\n"
        "pd.Series([1, 2], name='s')"
    )
    result = run(shared, code)
    assert not result.is_error, result.text
    assert "[1500 rows x 2 columns]" in result.text and "<IPython.core.display.HTML object>" in result.text
    assert "x" * 100 not in result.text and len(result.text) <= FAST.python_output_chars + 200
    _, step = step_messages(ToolCall("python", code), result, tmp_path)
    kinds = [a.kind for a in step.artifacts]
    assert kinds == ["table", "html", "svg", "markdown", "latex", "json", "image", "omitted", "table", "html"]
    table = json.loads(Path(step.artifacts[0].path).read_text())
    assert table["rows"] == 1500 and len(table["data"]) == 1000 and table["columns"] == ["n", "day"]
    assert table["data"][1] == [1, "2024-01-02T00:00:00.000"] and table["dtypes"][1].startswith("datetime64")
    assert Path(step.artifacts[1].path).read_text() == "<table><tr><td>styled</td></tr></table>"
    assert Path(step.artifacts[3].path).read_text() == "**bold**"
    assert Path(step.artifacts[4].path).read_text() == "$$\\frac{1}{2}$$"
    assert json.loads(Path(step.artifacts[5].path).read_text()) == {"a": [1, 2]}
    assert Path(step.artifacts[6].path).read_bytes().startswith(b"\x89PNG")
    assert step.artifacts[7].title == "text/html" and step.artifacts[7].size > 25_000_000
    assert json.loads(Path(step.artifacts[8].path).read_text())["columns"] == ["s"]
    assert step.artifacts[9].title == "page.html" and "written" in Path(step.artifacts[9].path).read_text()
    run(shared, "import os; os.remove('/mnt/data/page.html')")  # the shared kernel's folder as it was


def test_a_plotly_figure_is_a_self_contained_preview_and_the_model_reads_a_line(shared, tmp_path):
    """``fig.show()`` and a figure as the cell's result each become an HTML preview that carries
    plotly.js and the figure's data (no CDN: previews may have no network), while the model
    reads one line per figure instead of plotly's JSON."""
    from glm4_app.tool_steps import step_messages

    code = (
        "import plotly.express as px, plotly.graph_objects as go\n"
        "px.bar(x=['north', 'south', 'east'], y=[12, 31, 7], title='Sales by region').show()\n"
        "go.Figure([go.Scatter(y=[1, 4, 2]), go.Pie(values=[1, 2])])"
    )
    result = run(shared, code)
    assert not result.is_error, result.text
    assert "[plotly figure 'Sales by region', 1 trace: bar]" in result.text
    assert "[plotly figure, 2 traces: scatter, pie]" in result.text
    _, step = step_messages(ToolCall("python", code), result, tmp_path)
    assert [a.kind for a in step.artifacts] == ["html", "html"]
    page = Path(step.artifacts[0].path).read_text()
    assert "Plotly.newPlot" in page and '"Sales by region"' in page and '"south"' in page
    assert "plotly.js v" in page and "<script src" not in page  # the library itself, inline


def test_outputs_are_bounded_and_images_indexed():
    out = Transcript()
    png = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    out.handle({"msg_type": "stream", "content": {"name": "stdout", "text": "a"}})
    out.handle({"msg_type": "stream", "content": {"name": "stdout", "text": "b\n"}})
    out.handle({"msg_type": "display_data", "content": {"data": png, "metadata": {}}})
    huge = {"text/html": "<p>" + "x" * 30_000_000, "text/plain": "huge"}
    out.handle({"msg_type": "display_data", "content": {"data": huge, "metadata": {}}})
    first, image, big = out.outputs()
    assert first.text == "ab\n" and image.image == 0 and "image/png" not in image.data
    assert big.data == {"text/plain": "huge", OMITTED_MIME: {"mimes": ["text/html"], "chars": 30_000_007}}, (
        "a bundle past the budget keeps its text only, and says what was dropped"
    )
    assert out.excerpt(100) == "ab\n[image 1]\nhuge\n"


# --- time limits and cancel ---------------------------------------------------------------


def test_a_timeout_interrupts_and_keeps_the_variables(make_tool):
    tool = make_tool()
    assert tool.ready(60)
    start = time.monotonic()
    result = run(tool, "x = 41\nwhile True:\n    pass")
    assert time.monotonic() - start < 2 + GRACE_S
    assert result.is_error
    assert "KeyboardInterrupt" in result.text
    assert "Timed out after 2 s" in result.text and "kept" in result.text
    assert run(tool, "print(x + 1)").text.strip() == "42"


def test_a_kernel_that_ignores_the_interrupt_is_restarted(make_tool):
    tool = make_tool()
    assert tool.ready(60)
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    start = time.monotonic()
    result = run(tool, code)
    assert time.monotonic() - start < 2 + GRACE_S + 2
    assert result.is_error and "Timed out after 2 s" in result.text
    assert "did not stop" in result.text and "lost" in result.text
    assert run(tool, "print('back')").text.strip() == "back"


def test_cancel_interrupts_promptly_and_keeps_the_variables(shared):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    result = run(shared, "import time\ny = 7\ntime.sleep(60)", cancel)
    assert time.monotonic() - start < 1.5
    assert "Stopped by the user" in result.text
    assert run(shared, "print(y)").text.strip() == "7"


def ended(result) -> list:
    """The notices of a result that say how the cell ended (a silent cell also says so)."""
    return [n for n in result.notices if n.kind != "python.no_output"]


def test_the_cpu_limit_kills_and_the_kernel_comes_back(make_tool):
    # The warm-up imports use ~2 s of CPU; 6 s leaves the cell about 4.
    tool = make_tool(FAST.with_(python_cpu_s=6, python_timeout_s=60))
    assert tool.ready(60)
    result = run(tool, "while True:\n    pass")
    assert result.is_error and "CPU time limit of 6 s" in result.text
    (died,) = ended(result)  # what the user reads, in their language
    assert str(died) in result.text and "6 秒的 CPU 时间上限" in word(died, "zh")
    assert run(tool, "print('back')").text.strip() == "back"


# --- a dying kernel -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code, chinese",
    [("import os\nos._exit(1)", "退出码 1"), ("import ctypes\nctypes.string_at(0)", "段错误")],
    ids=["exit", "segfault"],
)
def test_a_dead_kernel_is_restarted_and_the_model_told(make_tool, code, chinese):
    tool = make_tool()
    run(tool, "x = 1")
    result = run(tool, code)
    assert result.is_error
    assert "kernel died" in result.text and "lost" in result.text
    (died,) = ended(result)  # the model reads English; the user reads their language
    assert str(died) in result.text and chinese in word(died, "zh") and "内核" in word(died, "zh")
    assert run(tool, "print('back')").text.strip() == "back"
    assert "NameError" in run(tool, "x").text


# --- resource limits ----------------------------------------------------------------------


def test_memory_hogs_get_a_memory_error_and_the_kernel_survives(make_tool):
    tool = make_tool(FAST.with_(python_memory_mb=1024, python_timeout_s=30))
    assert "MemoryError" in run(tool, "x = bytearray(10**10)").text
    gradual = run(tool, "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))")
    assert "MemoryError" in gradual.text or "kernel died" in gradual.text
    after = run(tool, "chunks = None\nprint('alive')")
    assert "alive" in after.text


def test_the_file_size_limit_holds(make_tool):
    tool = make_tool(FAST.with_(python_file_mb=1))
    result = run(tool, "open('/mnt/data/big.bin', 'wb').write(b'0' * 2 * 1024 * 1024)")
    assert "File too large" in result.text
    assert (tool.workdir / "big.bin").stat().st_size <= 1024 * 1024
    assert run(tool, "print('alive')").text.strip() == "alive"


def test_the_kernel_sees_no_app_secrets(make_tool, monkeypatch):
    monkeypatch.setenv("GLM4_SEARCH_API_KEY", "s3cr3t-search-key")
    monkeypatch.setenv("HF_TOKEN", "hf_s3cr3t")
    tool = make_tool()
    result = run(
        tool,
        "import os\n"
        "print(sorted(os.environ))\n"
        "print(os.environ['HOME'])\n"
        "try:\n"
        "    print(open(f'/proc/{os.getppid()}/environ').read())\n"
        "except OSError as e:\n"
        "    print('parent environ:', type(e).__name__)\n",
    )
    assert "s3cr3t" not in result.text and "GLM4_" not in result.text
    assert "HF_TOKEN" not in result.text
    assert "/mnt/data" in result.text  # HOME is the session's folder
    if os.geteuid() == 0:  # a capability-less root kernel cannot read the app's environ
        assert "parent environ: PermissionError" in result.text


# --- files and paths ----------------------------------------------------------------------


def test_files_written_to_mnt_data_land_in_the_workdir(shared):
    result = run(
        shared,
        "import pandas as pd, os\n"
        "pd.DataFrame({'a': [1, 2]}).to_csv('/mnt/data/x.csv', index=False)\n"
        "print(sorted(os.listdir('/mnt/data')), os.path.abspath('/mnt/data/x.csv'), os.getcwd())",
    )
    assert not result.is_error, result.text
    assert (shared.workdir / "x.csv").read_text() == "a\n1\n2\n"
    assert shared.workdir / "x.csv" in result.files
    assert "['x.csv'] /mnt/data/x.csv /mnt/data" in result.text
    assert str(shared.workdir) not in result.text  # the model only ever sees /mnt/data
    unchanged = run(shared, "print(open('/mnt/data/x.csv').read())")
    assert unchanged.files == ()


def test_only_the_mnt_data_path_is_rewritten():
    tool = PythonTool(FAST, Path("/tmp/ws"))
    code = "open('/mnt/data/a.csv'); '/mnt/data'; '/mnt/database'; '/x/mnt/data'; '/mnt/data2'"
    assert tool.to_kernel_paths(code) == (
        "open('/tmp/ws/a.csv'); '/tmp/ws'; '/mnt/database'; '/x/mnt/data'; '/mnt/data2'"
    )


# --- fonts: Latin glyphs from a Latin font, Chinese ones from whatever CJK font there is ----

PLOT = (
    "import matplotlib\n"
    "import matplotlib.pyplot as plt\n"
    "fig, ax = plt.subplots()\n"
    "ax.plot([1, -2, 3])\n"
    "ax.set_title('中文标题：销售额 2024 (−5%)')\n"
    "ax.set_xlabel('月份')\n"
)
CHINESE = "中文标题销售额月份："


def build_font(path: Path, family: str, chars: str) -> Path:
    """A TrueType font named ``family`` with (square) glyphs for ``chars`` only."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    names = [".notdef", *(f"u{ord(c):04X}" for c in chars)]
    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder(names)
    builder.setupCharacterMap({ord(c): f"u{ord(c):04X}" for c in chars})
    glyphs = {}
    for name in names:
        pen = TTGlyphPen(None)
        pen.moveTo((100, 0)), pen.lineTo((100, 700)), pen.lineTo((600, 700)), pen.lineTo((600, 0))
        pen.closePath()
        glyphs[name] = pen.glyph()
    builder.setupGlyf(glyphs)
    builder.setupHorizontalMetrics({name: (700, 100) for name in names})
    builder.setupHorizontalHeader(ascent=800, descent=-200)
    builder.setupNameTable({"familyName": family, "styleName": "Regular"})
    builder.setupOS2()
    builder.setupPost()
    builder.save(path)
    return path


DIGITS = "0123456789()-%"
FONT_CASES = {
    # Debian's fonts-droid-fallback: Chinese glyphs but no digits, brackets or minus.
    "droid-only": [("Droid Sans Fallback", CHINESE)],
    "noto-cjk": [("Noto Sans CJK SC", CHINESE + DIGITS)],
    "wenquanyi": [("WenQuanYi Zen Hei", CHINESE + DIGITS)],
    "droid-and-noto": [("Droid Sans Fallback", CHINESE), ("Noto Sans CJK SC", CHINESE + DIGITS)],
    "none": [],
}


@pytest.mark.parametrize("case", FONT_CASES, ids=str)
def test_plots_draw_digits_and_chinese_with_whatever_cjk_font_is_installed(case, tmp_path):
    """The kernel's font set-up against each kind of machine, independent of the fonts this
    one has: its CJK fonts are hidden and stand-ins with the real names are added."""
    import subprocess

    from glm4_app.tools.kernel_process import STARTUP

    fonts = [build_font(tmp_path / f"{i}.ttf", name, chars) for i, (name, chars) in enumerate(FONT_CASES[case])]
    script = (
        "import runpy, sys\n"
        "import matplotlib\n"
        "matplotlib.use('agg')\n"
        "from matplotlib import font_manager\n"
        "startup = runpy.run_path(sys.argv[1])\n"
        "manager = font_manager.fontManager\n"
        "hidden = set(startup['CJK_FONTS'])\n"
        "manager.ttflist = [f for f in manager.ttflist if f.name not in hidden and 'CJK' not in f.name]\n"
        "for path in sys.argv[2:]:\n"
        "    manager.addfont(path)\n"
        "print(startup['configure_fonts']())\n"
        "startup['_note_missing_glyphs']()\n"
        f"{PLOT}fig.savefig('/dev/null', format='png')\n"
        "plt.rcParams['font.sans-serif'] = ['SimHei']  # what generated code often says\n"
        f"{PLOT}fig.savefig('/dev/null', format='png')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(STARTUP), *map(str, fonts)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "MPLCONFIGDIR": str(tmp_path / "mpl")},
    )
    assert done.returncode == 0, done.stderr
    assert "Glyph" not in done.stderr and "missing from font" not in done.stderr, done.stderr
    assert "findfont" not in done.stderr, done.stderr
    chosen = done.stdout.strip()
    if case == "none":  # nothing can draw Chinese: one short line says so, once
        assert chosen == "[]" and done.stderr.count("have no font on this server") == 1, done.stderr
    else:
        assert "have no font" not in done.stderr, done.stderr
        assert chosen.startswith(f"['{FONT_CASES[case][-1][0]}'"), chosen  # the fuller font first


def test_the_kernel_draws_chinese_titles_without_glyph_warnings(shared):
    """The real kernel with the fonts of this machine: no matplotlib warning (with its local
    path) reaches the model, whatever is installed."""
    result = run(shared, PLOT + "plt.show()\n")
    assert len(result.images) == 1
    assert "Glyph" not in result.text and "missing from font" not in result.text, result.text
    assert "site-packages" not in result.text and "findfont" not in result.text
    # The check can fail: matplotlib's warning as it reads without the kernel's set-up.
    raw = run(shared, "import warnings\nwarnings.warn('Glyph 20013 missing from font(s) DejaVu Sans.')")
    assert "missing from font" not in raw.text and "have no font on this server" in raw.text


# --- sessions -----------------------------------------------------------------------------


def test_a_warm_kernel_answers_at_once(make_tool):
    tool = make_tool()
    assert tool.ready(60)
    start = time.monotonic()
    assert run(tool, "print(1)").text.strip() == "1"
    assert time.monotonic() - start < 0.5


def test_two_sessions_share_nothing(make_tool):
    one, two = make_tool(name="one"), make_tool(name="two")
    run(one, "secret = 1\nopen('/mnt/data/mine.txt', 'w').write('1')")
    assert "NameError" in run(two, "secret").text
    assert "False" in run(two, "import os\nprint(os.path.exists('/mnt/data/mine.txt'))").text
    assert one._kernel.pid != two._kernel.pid


def test_an_idle_kernel_is_reaped_and_the_model_told(make_tool):
    tool = make_tool(FAST.with_(kernel_idle_s=60))
    run(tool, "x = 1")
    assert not tool.maybe_reap()  # just used
    assert tool.maybe_reap(now=time.monotonic() + 120)
    assert not tool.running
    result = run(tool, "x")
    assert "shut down after 2 min unused" in result.text and "NameError" in result.text


def test_run_never_raises(tmp_path, monkeypatch):
    def broken(self):
        raise OSError("no kernel today")

    monkeypatch.setattr(PythonTool, "_new_kernel", broken)
    result = run(PythonTool(FAST, tmp_path), "print(1)")
    assert result.is_error and "no kernel today" in result.text


def test_failures_before_the_code_runs_are_told_in_the_readers_language(tmp_path, monkeypatch):
    """The model reads English; the step box shows the same failure as a notice, worded in
    whatever language its reader uses."""
    def broken(self):
        raise OSError("no kernel today")

    monkeypatch.setattr(PythonTool, "_new_kernel", broken)
    tool = PythonTool(FAST, tmp_path)
    failed = run(tool, "print(1)")
    (notice,) = failed.notices
    assert failed.text == str(notice) == "Could not start the Python kernel: no kernel today"
    assert word(notice, "zh") == "无法启动 Python 内核：no kernel today"
    cancel = threading.Event()
    cancel.set()
    with tool._lock:  # a kernel still starting holds it: Stop wins before the code runs
        stopped = run(tool, "print(1)", cancel)
    assert stopped.is_error and stopped.text == "[Stopped by the user before the code ran.]"
    assert [word(n, "zh") for n in stopped.notices] == ["[代码运行前已被用户停止。]"]
