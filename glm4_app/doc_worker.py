"""Uploaded files are read (and PDF pages drawn for vision models) in worker processes,
never in the app's.

A hostile file (a PDF page whose content inflates to gigabytes, markup built to make a parser
slow) can take minutes and gigabytes, and MuPDF holds the GIL while it works: read in the app
process, it would stop every user's stream. In a worker it has a wall-clock deadline
(``doc_timeout_s``), a CPU limit to match and a memory limit (``doc_memory_mb`` of address
space on top of what the warm worker already maps); at overrun the worker is killed and the
upload refused with a clear message. Meanwhile the app's thread only waits on a pipe.

Workers are started ahead, parsers imported, so the normal case pays only the hop: the bytes
through a pipe, the text back. One worker reads one file at a time and many in its life; one
that was killed or failed is replaced. Where bubblewrap works, workers run in a sandbox of
their own (no network, no app files, no view of other processes): a parser bug that a
crafted file exploits finds nothing there. The worker answers in JSON, never pickle, so a
worker taken over by a file cannot run code in the app through its answers either.

Protocol (stdin/stdout of the worker): frames of one kind byte (``J`` JSON, ``B`` bytes), an
8-byte length and the payload. The app sends a job (``J``) and the file (``B``); the worker
sends ``progress`` frames, then ``document`` followed by the text (``B``), or ``error``. A
``pages`` job is answered with one PNG (``B``) per page, then ``done`` (the count) or ``error``.
"""

from __future__ import annotations

import json
import logging
import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict
from typing import TypeVar

from .documents import Document, DocumentError, DocumentLimits
from .documents.base import MAX_TEXT_CHARS
from .documents.pdf import ScannedPdf
from .notices import Notice, from_data, stored
from .settings import APP_DIR

log = logging.getLogger(__name__)

WARM = 1  # idle workers kept ready
WARM_RETRY_S = 60.0  # after a worker failed to start ahead, the next try at warming
MAX_WORKERS = max(2, os.cpu_count() or 1)  # files read at once; more wait for a free worker
START_TIMEOUT_S = 60.0
_HEADER = struct.Struct(">cQ")
MB = 1024 * 1024
MAX_FRAME = 4 * MAX_TEXT_CHARS + MB  # the longest text kept, in UTF-8, and room for the rest
# The DocumentError kinds that mean more than their message, by the names a worker sends.
_ERRORS: dict[str, type[DocumentError]] = {"ScannedPdf": ScannedPdf}
PNG = b"\x89PNG\r\n\x1a\n"
T = TypeVar("T")


class Worker:
    """One worker process and its pipes."""

    def __init__(self, sandboxed: bool) -> None:
        from .tools.sandbox import spawn, worker_sandbox

        cmd = [sys.executable, "-m", "glm4_app.doc_worker"]
        if sandboxed:
            cmd = [*worker_sandbox(), *cmd]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": "/app" if sandboxed else str(APP_DIR),
            "PYTHONDONTWRITEBYTECODE": "1",
        }

        def start() -> subprocess.Popen:
            return subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=str(APP_DIR), env=env,
                start_new_session=True,
            )

        self.process = spawn(start) if sandboxed else start()

    def send(self, kind: bytes, payload: bytes) -> None:
        self.process.stdin.write(_HEADER.pack(kind, len(payload)))
        self.process.stdin.write(payload)
        self.process.stdin.flush()

    def receive(self, deadline: float, limit: int = MAX_FRAME) -> tuple[bytes, bytes]:
        """The next frame; TimeoutError past ``deadline``, EOFError if the worker died. A frame
        larger than any honest answer means the worker is not ours any more (a file took it
        over): it is treated as dead, never given the memory it asks for."""
        header = self._read(_HEADER.size, deadline)
        kind, size = _HEADER.unpack(header)
        if size > limit:
            raise EOFError(f"a frame of {size:,} bytes")
        return kind, self._read(size, deadline)

    def _read(self, size: int, deadline: float) -> bytes:
        """``size`` bytes, read straight into one buffer (the copying happens in the read
        system call, without the GIL)."""
        fd = self.process.stdout.fileno()
        buffer = bytearray(size)
        view, done = memoryview(buffer), 0
        while done < size:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], min(wait, 1.0))
            if not ready:
                continue
            count = os.readv(fd, [view[done:]])
            if not count:
                raise EOFError
            done += count
        return buffer

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except OSError:
            pass
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class Pool:
    """Warm workers handed out one job at a time."""

    def __init__(self) -> None:
        self._idle: list[Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_WORKERS)
        self._warming = False
        self._retry_at = 0.0  # after a failed start, when warming is worth trying again

    def warm(self) -> None:
        """Start the idle workers in the background (the first upload then does not wait).
        Called on every page rerun: cheap when the pool is full, already filling, or a start
        just failed."""
        with self._lock:
            if self._warming or len(self._idle) >= WARM or time.monotonic() < self._retry_at:
                return
            self._warming = True
        threading.Thread(target=self._fill, name="doc-worker-warm", daemon=True).start()

    def _fill(self) -> None:
        try:
            with self._lock:
                missing = WARM - len(self._idle)
            for _ in range(missing):
                try:
                    worker = _started()
                except Exception as exc:  # the upload itself starts one and reports its failure
                    log.info("document worker did not start ahead: %s", exc)
                    self._retry_at = time.monotonic() + WARM_RETRY_S
                    return
                with self._lock:
                    self._idle.append(worker)
        finally:
            self._warming = False

    def extract(
        self,
        name: str,
        data: bytes,
        limits: DocumentLimits,
        progress: Callable[[float, Notice], None] | None,
        timeout_s: float,
        memory_mb: int,
    ) -> Document:
        return self._use(name, lambda worker: _job(worker, name, data, limits, progress, timeout_s, memory_mb))

    def draw_pages(self, name: str, data: bytes, dpi: int, max_side: int, max_pages: int,
                   page: Callable[[int, bytes], None], timeout_s: float, memory_mb: int) -> int:
        job = {"task": "pages", "name": name, "dpi": dpi, "max_side": max_side, "max_pages": max_pages,
               "timeout_s": timeout_s, "memory_mb": memory_mb}
        return self._use(name, lambda worker: _pages_job(worker, job, data, page))

    def _use(self, name: str, job: Callable[[Worker], T]) -> T:
        """``job`` run on an idle worker (or a new one); a worker it lost is replaced."""
        with self._slots:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None or worker.process.poll() is not None:
                try:
                    worker = _started()
                except Exception:
                    log.exception("no document worker could be started")
                    raise DocumentError(Notice("documents.reader_did_not_start", name=name)) from None
            healthy = False
            try:
                answer = job(worker)
                healthy = True
                return answer
            except DocumentError as error:
                healthy = not isinstance(error, WorkerLost)
                raise
            finally:
                if healthy:
                    with self._lock:
                        self._idle.append(worker)
                else:
                    worker.kill()
                    self.warm()  # its replacement starts while the user reads the message

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.kill()


def _started() -> Worker:
    from .tools.sandbox import isolation_problem

    worker = Worker(sandboxed=isolation_problem() is None)
    try:
        kind, payload = worker.receive(time.monotonic() + START_TIMEOUT_S)
        if kind == b"J" and json.loads(payload).get("ready") is True:
            return worker
    except (EOFError, TimeoutError, ValueError):
        pass
    worker.kill()  # its error went to the app's stderr
    raise RuntimeError("the document worker did not start")


def _job(worker, name, data, limits, progress, timeout_s, memory_mb) -> Document:
    job = {"task": "read", "name": name, "limits": asdict(limits), "timeout_s": timeout_s, "memory_mb": memory_mb}
    deadline = _deadline(timeout_s)
    too_slow = Notice("documents.read_timeout", name=name, seconds=f"{timeout_s:g}")
    with _answers(worker, name, memory_mb, too_slow):
        worker.send(b"J", json.dumps(job).encode())
        worker.send(b"B", data)
        while True:
            kind, payload = worker.receive(deadline)
            message = json.loads(payload)
            if "progress" in message:
                if progress is not None:
                    progress(float(message["progress"]), from_data(message["message"]))
                continue
            _raise_failure(message)
            kind, text = worker.receive(deadline)
            fields = message["document"]
            pages = fields["pages"]
            return Document(
                name=str(fields["name"]),
                kind=str(fields["kind"]),
                text=text.decode("utf-8", "surrogatepass"),
                pages=None if pages is None else int(pages),
                chars=int(fields["chars"]),
                notes=tuple(from_data(note) for note in fields["notes"]),
            )


def _pages_job(worker: Worker, job: dict, data: bytes, page: Callable[[int, bytes], None]) -> int:
    """The pages handed to ``page`` (number, PNG bytes) one by one as they arrive, never kept
    here: a long scan at full size is gigabytes. The count drawn. Each page has the whole
    deadline (a long PDF is many honest pages, a hostile one is one page that never ends)."""
    name, timeout_s = job["name"], job["timeout_s"]
    largest_png = 3 * job["max_side"] ** 2 + job["max_side"] + MB  # incompressible RGB and its framing
    drawn = 0
    too_slow = Notice("pages.draw_timeout", name=name, seconds=f"{timeout_s:g}")
    with _answers(worker, name, job["memory_mb"], too_slow):
        worker.send(b"J", json.dumps(job).encode())
        worker.send(b"B", data)
        while True:
            kind, payload = worker.receive(_deadline(timeout_s), largest_png)
            if kind == b"B":
                if not payload.startswith(PNG):
                    raise ValueError("not a PNG")  # not our worker any more
                drawn += 1
                page(drawn, bytes(payload))
                continue
            message = json.loads(payload)
            _raise_failure(message)
            if message.get("done") == drawn:
                return drawn
            raise ValueError("pages went missing")


def _deadline(timeout_s: float) -> float:
    return time.monotonic() + timeout_s if timeout_s > 0 else float("inf")


def _raise_failure(message: dict) -> None:
    """The worker's answer when it is a failure, raised: the file's own problem, or the worker
    lost (out of memory: its heap may be in any state)."""
    if "error" not in message:
        return
    error = from_data(message["error"])
    if message.get("memory"):
        raise WorkerLost(error)
    raise _ERRORS.get(message.get("type"), DocumentError)(error)


@contextmanager
def _answers(worker: Worker, name: str, memory_mb: int, too_slow: Notice):
    """What a job's failures are to the caller: the file's problem as sent, ``too_slow`` past
    the deadline, the worker's end for a worker that died or answered what no worker of ours
    sends; a job abandoned by the caller (Stop) kills its worker."""
    try:
        yield
    except TimeoutError:
        raise WorkerLost(too_slow) from None
    except DocumentError:
        raise
    except (EOFError, BrokenPipeError, ValueError, KeyError, TypeError):
        raise WorkerLost(_died(name, worker, memory_mb)) from None
    except BaseException:  # the progress callback stopped the script: the job is abandoned
        worker.kill()
        raise


class WorkerLost(DocumentError):
    """The file was refused and its worker is gone or unfit (killed at the deadline, out of
    memory, crashed): the pool replaces it."""


def _died(name: str, worker: Worker, memory_mb: int) -> Notice:
    try:
        worker.process.wait(timeout=1)  # how it ended, before it is made sure to
    except subprocess.TimeoutExpired:
        pass
    worker.kill()
    log.info("document worker for %s ended with %s", name, worker.process.returncode)
    if worker.process.returncode == -signal.SIGXCPU:
        return Notice("documents.read_cpu_limit", name=name)
    # Under its memory limit a parser that does not check its allocations crashes instead.
    return Notice("documents.reader_crashed", name=name, limit=memory_mb)


# --- the worker process -----------------------------------------------------------------------


def _serve() -> None:
    import resource

    from .documents import extract
    from .vision.pages import PagesError, page_images

    for module in ("pymupdf", "pptx", "openpyxl", "lxml.etree", "bs4", "charset_normalizer"):
        try:  # the ~2 s of imports happen once per worker, before the first job
            __import__(module)
        except Exception:
            pass
    os.nice(10)  # reading a file is background work; the app's answers stream meanwhile
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a library printing must not corrupt the frames

    def send(kind: bytes, payload: bytes) -> None:
        stdout.write(_HEADER.pack(kind, len(payload)) + payload)
        stdout.flush()

    def receive() -> tuple[bytes, bytes] | None:
        header = stdin.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return None
        kind, size = _HEADER.unpack(header)
        return kind, stdin.read(size)

    def progress(fraction: float, message: Notice) -> None:
        send(b"J", json.dumps({"progress": fraction, "message": stored(message)}).encode())

    send(b"J", b'{"ready": true}')
    while True:
        job_frame = receive()
        data_frame = receive()
        if job_frame is None or data_frame is None:
            return  # the app closed the pipe: it is gone or done with this worker
        job = json.loads(job_frame[1])
        _limit_memory(resource, job)
        _limit_cpu(resource, job)
        document, failure, drawn = None, None, 0
        try:
            if job["task"] == "pages":
                for image in page_images(job["name"], data_frame[1], job["dpi"], job["max_side"], job["max_pages"]):
                    send(b"B", image)
                    drawn += 1
                    _limit_cpu(resource, job)  # the next page has the whole deadline again
            else:
                limits = DocumentLimits(**job["limits"])
                document = extract(job["name"], data_frame[1], limits, progress)
        except (DocumentError, PagesError) as error:  # its type too: a scan is offered to the vision model
            failure = {"error": stored(error.notice), "type": type(error).__name__}
        except MemoryError:
            mb, name = job["memory_mb"], job["name"]
            message = Notice("documents.read_memory_limit", name=name, limit=mb)
            failure = {"error": stored(message), "memory": True}
        finally:  # before answering: the answer itself needs memory
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY,) * 2)
        if failure is not None:
            send(b"J", json.dumps(failure).encode())
            if failure.get("memory"):
                return  # its heap may be in any state: the app starts another worker
            continue
        if document is None:
            send(b"J", json.dumps({"done": drawn}).encode())
            continue
        fields = {k: v for k, v in asdict(document).items() if k not in ("text", "notes")}
        fields["notes"] = [stored(note) for note in document.notes]
        send(b"J", json.dumps({"document": fields}).encode())
        send(b"B", document.text.encode("utf-8", "surrogatepass"))


def _limit_memory(resource, job: dict) -> None:
    """Address space: what this warm worker maps already plus the job's budget."""
    if job.get("memory_mb"):
        with open("/proc/self/status") as f:
            mapped = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
        budget = mapped + job["memory_mb"] * MB
        resource.setrlimit(resource.RLIMIT_AS, (budget, resource.RLIM_INFINITY))


def _limit_cpu(resource, job: dict) -> None:
    """CPU: what this worker used so far plus the deadline, so a worker the app no longer
    waits for stops by itself."""
    if job.get("timeout_s"):
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = int(used.ru_utime + used.ru_stime)
        cpu = spent + int(job["timeout_s"]) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, resource.RLIM_INFINITY))


# --- what the app calls -------------------------------------------------------------------------

POOL = Pool()


def warm() -> None:
    POOL.warm()


def extract(
    name: str,
    data: bytes,
    limits: DocumentLimits = DocumentLimits(),
    progress: Callable[[float, str], None] | None = None,
    timeout_s: float = 30,
    memory_mb: int = 1024,
) -> Document:
    """documents.extract in a worker: the same Document or DocumentError, plus a deadline and a
    memory limit; ``progress`` is called in the caller's thread."""
    return POOL.extract(name, data, limits, progress, timeout_s, memory_mb)


def draw_pages(name: str, data: bytes, dpi: int, max_side: int, max_pages: int,
               page: Callable[[int, bytes], None], timeout_s: float = 30, memory_mb: int = 1024) -> int:
    """The pages of a PDF drawn as PNG bytes in a worker (vision/pages.py), each handed to
    ``page`` with its number (from 1) as it comes; the count. A DocumentError says why not
    (pages handed over before it stay the caller's); ``timeout_s`` is per page."""
    return POOL.draw_pages(name, data, dpi, max_side, max_pages, page, timeout_s, memory_mb)


if __name__ == "__main__":
    _serve()
