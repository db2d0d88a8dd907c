"""What measuring a session's /mnt/data (100,000 small files) costs the app: the app's CPU
time spent measuring, and how far a busy Python thread (as a streaming answer's is) gets
meanwhile, with the walk in the app process (how the quota was measured before: os.walk +
lstat, holding the GIL between system calls) vs in a child process
(``kernel_process._folder_bytes``, which the disk watch between cells runs every few seconds).
Runs alternate; both must find the same size.

    python bench/disk_watch.py [--files 100000] [--rounds 5]

Last line: disk_watch_app_cpu_ratio=<app CPU per measurement in a child / walked in the app>
(median over rounds). Where the cores are busy (this machine's two, shared) the child's CPU
competes with the app's threads like any process; what it no longer takes is the app's GIL.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glm4_app.tools.kernel_process import _folder_bytes, _walk_bytes as walk_in_app  # noqa: E402


def measured(measure, root: Path) -> tuple[float, float, float, int]:
    """(the busy thread's progress per second meanwhile, CPU seconds spent measuring by the
    app's thread and in all, bytes measured)."""
    count, stop = [0], threading.Event()

    def busy() -> None:
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=busy)
    thread.start()
    wall, cpu, children = time.perf_counter(), time.thread_time(), _children_cpu()
    used = measure(root)
    wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
    total = cpu + _children_cpu() - children
    stop.set()
    thread.join()
    return count[0] / wall, cpu, total, used


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="glm4-disk-watch-"))
    try:
        for i in range(args.files):
            folder = root / f"d{i // 1000}"
            folder.mkdir(exist_ok=True)
            (folder / f"f{i}").write_bytes(b"x")
        ratios = []
        for n in range(args.rounds):
            order = [("walk", walk_in_app), ("child", _folder_bytes)]
            runs = {name: measured(measure, root) for name, measure in order[:: 1 - 2 * (n % 2)]}
            (walk_rate, walk_cpu, walk_total, walk_used) = runs["walk"]
            (child_rate, child_cpu, child_total, child_used) = runs["child"]
            assert walk_used == child_used, (walk_used, child_used)
            print(f"round {n}: CPU per measurement: walk {walk_cpu * 1000:.0f} ms in the app; "
                  f"child {child_cpu * 1000:.1f} ms in the app, {child_total * 1000:.0f} ms in "
                  f"all; a busy app thread's progress per second meanwhile: child/walk "
                  f"{child_rate / walk_rate:.2f}")
            ratios.append(child_cpu / walk_cpu)
        print(f"disk_watch_app_cpu_ratio={statistics.median(ratios):.4f}")
    finally:
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
