"""Latency of a new session's first python call: kernel warmed at session start vs cold.

* warm: ``start()`` is called when the session is created (as Toolbox does) and the model's
  first call arrives once the kernel is ready; timed: that ``run()``.
* cold: no ``start()``; the first ``run()`` starts the kernel itself, as the reference demo did.

Both run the same realistic first cell (pandas, a print) in a fresh session with the app's
default settings. Rounds interleave cold and warm so that machine noise hits both alike.

    python bench/tool_latency.py [--rounds 5]

Last line: first_tool_call_speedup=<cold/warm median> (floor 3).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from glm4_app.settings import Settings  # noqa: E402
from glm4_app.tools.base import ToolCall  # noqa: E402
from glm4_app.tools.python_tool import PythonTool  # noqa: E402

FIRST_CALL = ToolCall(
    "python", "import pandas as pd\ndf = pd.DataFrame({'x': [1, 2, 3]})\nprint(df.x.sum())"
)


def first_call(workdir: Path, warm: bool) -> float:
    tool = PythonTool(Settings(), workdir)
    try:
        if warm:
            tool.start()
            if not tool.ready(120):
                raise RuntimeError("the kernel did not start")
        start = time.perf_counter()
        result = tool.run(FIRST_CALL, threading.Event())
        elapsed = time.perf_counter() - start
        if result.is_error or result.text.strip() != "6":
            raise RuntimeError(f"unexpected result: {result.text}")
        return elapsed
    finally:
        tool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"cold": [], "warm": []}
    with tempfile.TemporaryDirectory() as tmp:
        first_call(Path(tmp) / "discarded", warm=False)  # page in the libraries once
        for i in range(args.rounds):
            for kind in ("cold", "warm") if i % 2 == 0 else ("warm", "cold"):
                seconds = first_call(Path(tmp) / f"{kind}{i}", warm=kind == "warm")
                times[kind].append(seconds)
                print(f"round {i + 1} {kind}: {seconds * 1000:8.1f} ms", flush=True)
    cold, warm = (statistics.median(times[k]) for k in ("cold", "warm"))
    print(f"first python call, cold kernel start at call time: median {cold * 1000:.1f} ms")
    print(f"first python call, kernel warmed at session start: median {warm * 1000:.1f} ms")
    print(f"first_tool_call_speedup={cold / warm:.1f}")


if __name__ == "__main__":
    main()
