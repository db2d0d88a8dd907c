"""Each model is loaded once per process, in the background, and shared by every session.

Sessions that arrive while a model loads see the same live progress; a failed load stays
visible (with its explanation) until someone retries.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from ..settings import Settings
from .chat_backend import InProcessChatBackend
from .engine import Engine
from .kv_batch import auto_batch_tokens
from .loader import LoadError, load_model
from .offline import OFFLINE_MODEL_ID, OFFLINE_MODEL_NAME

DEFAULT_GPU_MODEL = "THUDM/glm-4-9b-chat-hf"


class LoadJob:
    def __init__(self, target: Callable[["LoadJob"], object]) -> None:
        self.steps: list[str] = []
        self.started_at = time.monotonic()
        self.result = None
        self.error: LoadError | None = None
        self._done = threading.Event()
        self._target = target
        threading.Thread(target=self._run, name="glm4-loader", daemon=True).start()

    def step(self, message: str) -> None:
        self.steps.append(message)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def _run(self) -> None:
        try:
            self.result = self._target(self)
        except LoadError as err:
            self.error = err
        except Exception as exc:  # a bug, still shown as words and not as a dead page
            self.error = LoadError("Loading failed unexpectedly.", "See the details below.", repr(exc))
        finally:
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
                job = self._jobs[key] = LoadJob(lambda job: load_chat_backend(settings, job.step))
            return job

    def forget_failed(self, settings: Settings) -> None:
        with self._lock:
            job = self._jobs.get(("chat", settings))
            if job is not None and job.error is not None:
                del self._jobs[("chat", settings)]


def gpu_available() -> bool:
    import torch

    return torch.cuda.is_available()


def choose_chat_model(settings: Settings, gpu: bool) -> tuple[str, bool]:
    """(what to load, whether the offline model may stand in if it cannot be loaded)."""
    if settings.chat_model not in ("", "auto"):
        return settings.chat_model, False  # explicit settings always win
    return (DEFAULT_GPU_MODEL, True) if gpu else (OFFLINE_MODEL_ID, False)


def offline_notice(reason: str) -> str:
    return (
        f"{reason}, so this app runs the small bundled model **{OFFLINE_MODEL_NAME}**: quick to "
        "load, weak at answering. To chat with GLM-4, set `GLM4_CHAT_MODEL` to a hub id such as "
        "`THUDM/glm-4-9b-chat-hf` or a local folder (a GPU with ~20 GB, or "
        "`GLM4_QUANTIZATION=4bit` with ~8 GB) and restart."
    )


def load_chat_backend(settings: Settings, progress: Callable[[str], None]):
    if settings.backend == "openai":  # a server (vLLM) answers: no weights are loaded here
        from .openai_connect import connect_openai_backend

        return connect_openai_backend(settings, progress)
    gpu = gpu_available() if settings.device == "auto" else settings.device.startswith("cuda")
    source, may_fall_back = choose_chat_model(settings, gpu)
    notice = None
    if source == OFFLINE_MODEL_ID:
        notice = offline_notice("No GPU was found" if settings.chat_model == "auto" else
                                "GLM4_CHAT_MODEL asks for the offline model")
    try:
        loaded = load_model(source, settings, progress)
    except LoadError as err:
        if not may_fall_back:
            raise
        progress(f"{source} is unavailable ({err.title}); loading the offline model instead")
        notice = offline_notice(f"{source} could not be loaded ({err.title})")
        loaded = load_model(OFFLINE_MODEL_ID, settings, progress)
    engine = Engine(
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
    )
    return InProcessChatBackend(loaded, engine, notice)


MANAGER = ModelManager()
