"""Each model is loaded once per process, in the background, and shared by every session.

Sessions that arrive while a model loads see the same live progress; a failed load stays
visible (with its explanation) until someone retries.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from ..notices import Notice
from ..settings import Settings
from .chat_backend import InProcessChatBackend
from .engine import Engine
from .kv_batch import auto_batch_tokens
from .loader import LoadError, load_model
from .offline import OFFLINE_MODEL_ID, OFFLINE_MODEL_NAME

DEFAULT_GPU_MODEL = "THUDM/glm-4-9b-chat-hf"
# One load at a time: transformers switches torch's process-wide default dtype while it builds a
# model, so a chat and a vision model loading together (as the server starts both) could mix
# float32 and bfloat16 weights ("expected m1 and m2 to have the same dtype").
_LOADING = threading.Lock()


class LoadJob:
    def __init__(self, target: Callable[["LoadJob"], object]) -> None:
        self.steps: list[Notice] = []
        self.started_at = time.monotonic()  # of the wait for another load, then of the load
        self.finished_at: float | None = None
        self.result = None
        self.error: LoadError | None = None
        self._done = threading.Event()
        self._target = target
        threading.Thread(target=self._run, name="glm4-loader", daemon=True).start()

    def step(self, message: Notice) -> None:
        self.steps.append(message)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _run(self) -> None:
        try:
            if not _LOADING.acquire(blocking=False):
                self.step(Notice("load.waiting_for_other"))
                _LOADING.acquire()
                # The load's time (logged when done, health's seconds) is its own, not the
                # other's; while waiting, the seconds counted are those of the wait.
                self.started_at = time.monotonic()
            try:
                self.result = self._target(self)
            finally:
                _LOADING.release()
        except LoadError as err:
            self.error = err
        except Exception as exc:  # a bug, still shown as words and not as a dead page
            self.error = LoadError(Notice("load.unexpected"), Notice("load.see_details"), repr(exc))
        finally:
            self.finished_at = time.monotonic()
            self._done.set()


class ModelManager:
    def __init__(self) -> None:
        self._jobs: dict[tuple, LoadJob] = {}
        self._lock = threading.Lock()

    def chat(self, settings: Settings) -> LoadJob:
        """The chat backend for these settings: loading, loaded or failed."""
        key = ("chat", settings)
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                self._make_room("chat", settings)
                job = self._jobs[key] = LoadJob(lambda job: load_chat_backend(settings, job.step))
            return job

    def forget_failed(self, settings: Settings, kind: str = "chat") -> None:
        with self._lock:
            job = self._jobs.get((kind, settings))
            if job is not None and job.error is not None:
                del self._jobs[(kind, settings)]

    # -- Vision: a second resident model, and the memory budget shared with chat -----------

    def vision(self, settings: Settings) -> LoadJob:
        """The vision backend for these settings; loaded once, kept across mode switches."""
        key = ("vision", settings)
        with self._lock:
            job = self._jobs.get(key)
            if job is None:
                self._make_room("vision", settings)
                job = self._jobs[key] = LoadJob(lambda job: load_vision_backend(settings, job.step))
            return job

    def jobs(self) -> list[tuple[str, LoadJob]]:
        """(kind, job) of every load asked for: loading, loaded or failed (health, metrics)."""
        with self._lock:
            return [(key[0], job) for key, job in self._jobs.items()]

    def resident(self) -> list[tuple[str, object]]:
        """(kind, backend) of every loaded model."""
        with self._lock:
            return [(k[0], j.result) for k, j in self._jobs.items() if j.done and j.result is not None]

    def _make_room(self, kind: str, settings: Settings) -> None:
        """Under a memory budget, unload the other kind of model when both would not fit.
        Called with the lock held, before the new load starts."""
        budget = settings.model_memory_mb * 2**20
        if not budget:
            return
        others = [k for k, j in self._jobs.items() if k[0] != kind and j.done and j.result is not None]
        held = sum(footprint(self._jobs[k].result) for k in others)
        if others and held + estimate_bytes(kind, settings) > budget:
            for key in others:
                unload(self._jobs.pop(key))


def footprint(backend) -> int:
    return backend.loaded.model.get_memory_footprint()


def estimate_bytes(kind: str, settings: Settings) -> float:
    """What loading would take: the checkpoint's weight files, scaled for quantisation. A hub
    id not yet on disk counts as unknown, that is too big to keep the other model."""
    from pathlib import Path

    source = settings.vision_model if kind == "vision" else settings.chat_model
    quant = settings.vision_quantization if kind == "vision" else settings.quantization
    folder = Path(source).expanduser()
    if not source or not folder.is_dir():
        return float("inf")
    weights = sum(p.stat().st_size for p in folder.iterdir() if p.suffix in (".safetensors", ".bin"))
    return weights * {"none": 1.0, "8bit": 0.55, "4bit": 0.3}[quant]


def unload(job: LoadJob) -> None:
    """Free a loaded model for good: stop its engine, drop every reference, return memory."""
    import gc

    import torch

    backend, job.result = job.result, None
    backend.engine.close()
    backend.engine.model = backend.loaded.model = None
    del backend
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def load_vision_backend(settings: Settings, progress: Callable[[Notice], None]):
    from .vision import VisionBackend
    from .vision_loader import load_vision_model

    if settings.backend in ("openai", "openai-chat"):  # a server answers: no weights here
        from .openai_connect import connect_openai_vision_backend

        return connect_openai_vision_backend(settings, progress)
    if not settings.vision_model:
        raise LoadError(Notice("load.no_vision_model"), Notice("load.no_vision_model_hint"))
    loaded = load_vision_model(settings.vision_model, settings, progress)
    return VisionBackend(loaded, make_engine(loaded, settings))


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def choose_chat_model(settings: Settings, gpu: bool) -> tuple[str, bool]:
    """(what to load, whether the offline model may stand in if it cannot be loaded)."""
    if settings.chat_model not in ("", "auto"):
        return settings.chat_model, False  # explicit settings always win
    return (DEFAULT_GPU_MODEL, True) if gpu else (OFFLINE_MODEL_ID, False)


def offline_notice(reason: Notice) -> Notice:
    return Notice("offline.in_use", reason=reason, name=OFFLINE_MODEL_NAME)


def load_chat_backend(settings: Settings, progress: Callable[[Notice], None]):
    if settings.chat_model == "scripted" and settings.scripted_replies:  # tests: pages replay a script
        from pathlib import Path

        from ..scripted import from_file

        return from_file(Path(settings.scripted_replies))
    if settings.backend == "openai":  # a server (vLLM) answers: no weights are loaded here
        from .openai_connect import connect_openai_backend

        return connect_openai_backend(settings, progress)
    if settings.backend == "openai-chat":  # a chat-completions API with native tool calls
        from .openai_connect import connect_openai_chat_backend

        return connect_openai_chat_backend(settings, progress)
    gpu = gpu_available() if settings.device == "auto" else settings.device.startswith("cuda")
    source, may_fall_back = choose_chat_model(settings, gpu)
    notice = None
    if source == OFFLINE_MODEL_ID:
        notice = offline_notice(Notice("offline.no_gpu") if settings.chat_model == "auto" else
                                Notice("offline.asked_for"))
    try:
        loaded = load_model(source, settings, progress)
    except LoadError as err:
        if not may_fall_back:
            raise
        progress(Notice("offline.falling_back", source=source, reason=err.title))
        notice = offline_notice(Notice("offline.could_not_load", source=source, reason=err.title))
        loaded = load_model(OFFLINE_MODEL_ID, settings, progress)
    return InProcessChatBackend(loaded, make_engine(loaded, settings), notice, settings.tool_format)


def make_engine(loaded, settings: Settings) -> Engine:
    return Engine(
        loaded.model,
        loaded.tokenizer,
        eos_token_ids=loaded.eos_token_ids,
        context_window=loaded.context_window,
        prefill_chunk=settings.prefill_chunk,
        queue_max=settings.queue_max,
        explicit_positions=loaded.explicit_positions,
        prefix_cache_bytes=settings.prefix_cache_mb * 2**20,
        max_batch=settings.max_batch,
        batch_tokens=settings.batch_tokens
        or auto_batch_tokens(loaded.model, reserve_bytes=settings.prefix_cache_mb * 2**20),
        kv_cache=settings.kv_cache,
    )


MANAGER = ModelManager()
