"""Which models the API serves and what a request may call them: the chat model, the vision
model when one is configured, and (tests only) the scripted one; each by its loaded name or
by the setting that names it. While a model loads, the names it will answer to are known
from its setting, so a misspelled name is a 404 at once, not a 503 to retry."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..settings import Settings
from .api_schema import ApiError
from .health import model_jobs


@dataclass(frozen=True)
class Served:
    """A model the API can route to: loaded, loading or failed."""

    kind: str  # "chat" | "vision" | "scripted"
    job: object  # a LoadJob (backend/manager.py): done, result, error, started_at
    names: frozenset[str]  # what a request may call it
    # Before it is loaded (loading, failed): the names it will answer to; None when only the
    # load can tell (a remote server's first model), so any name may be this one.
    expected: frozenset[str] | None = frozenset()

    @property
    def backend(self):
        return self.job.result if self.job.done else None

    def may_be(self, name: str) -> bool:
        """Whether a request for ``name`` means this model, before it is loaded."""
        return self.expected is None or name in self.expected


class _Ready:  # a backend that needs no loading (the test-only scripted one)
    def __init__(self, backend) -> None:
        self.done, self.result, self.error, self.started_at = True, backend, None, time.monotonic()


def served_models(settings: Settings) -> list[Served]:
    served = [Served(kind, job, *_known_names(settings, kind)) for kind, job in model_jobs(settings)]
    if settings.scripted_replies:
        from ..scripted import from_file

        served.append(
            Served(
                "scripted",
                _Ready(from_file(Path(settings.scripted_replies))),
                frozenset({"scripted"}),
            )
        )
    return [replace(s, names=s.names | {s.backend.info.name}) if s.backend else s for s in served]


def _known_names(settings: Settings, kind: str) -> tuple[frozenset[str], frozenset[str] | None]:
    """(names, expected) of the chat or the vision model, from its settings."""
    if kind == "chat":
        return _names(settings.chat_model), _chat_names(settings)
    names = _names(settings.vision_model)
    return names, names


def _names(setting: str) -> frozenset[str]:
    return frozenset({setting} - {"", "auto"})


def _chat_names(settings: Settings) -> frozenset[str] | None:
    """What the chat model may be called once loaded, known from its settings; None when
    only the load can tell (a remote server's first model)."""
    from ..backend.manager import DEFAULT_GPU_MODEL, OFFLINE_MODEL_ID, OFFLINE_MODEL_NAME

    names = _names(settings.chat_model)
    if settings.backend in ("openai", "openai-chat"):
        return names | {settings.openai_model} if settings.openai_model else None
    if settings.chat_model == OFFLINE_MODEL_ID:
        return names | {OFFLINE_MODEL_NAME}
    if settings.chat_model in ("", "auto"):  # the offline model on a CPU, GLM-4-9B-Chat on a GPU
        return frozenset({OFFLINE_MODEL_NAME, DEFAULT_GPU_MODEL})
    return names


def model_object(served: Served) -> dict:
    info = served.backend.info
    loaded_at = time.time() - (time.monotonic() - served.job.started_at)
    return {
        "id": info.name,
        "object": "model",
        "created": int(loaded_at),
        "owned_by": "glm4-chat",
        "max_model_len": info.context_window,
        "capabilities": {
            "vision": served.kind == "vision",
            "tools": info.tools,
            "reasoning": info.reasoning,
        },
    }


def ready_models(settings: Settings) -> list[Served]:
    """The loaded models; while none is loaded yet, a 503 to retry."""
    served = served_models(settings)
    ready = [s for s in served if s.backend is not None]
    if not ready and any(not s.job.done for s in served):
        raise _loading(served)
    return ready


def resolve(settings: Settings, name: str) -> Served:
    """The loaded model a request names, else why not: 503 while it is still loading or
    after it failed, 404 for a name nobody serves."""
    served = served_models(settings)
    for s in served:
        if s.backend is not None and name in s.names:
            return s
    loading = [s for s in served if not s.job.done and s.may_be(name)]
    if loading:
        raise _loading(loading)
    for s in served:
        if s.job.error is not None and s.may_be(name):
            raise ApiError(
                503,
                f"The model failed to load: {s.job.error.title} {s.job.error.hint}",
                "model_unavailable",
            )
    offered = ", ".join(sorted(s.backend.info.name for s in served if s.backend)) or "none"
    raise ApiError(
        404,
        f"The model '{name}' does not exist. Models here: {offered}.",
        "model_not_found",
        "model",
    )


def _loading(served: list[Served]) -> ApiError:
    seconds = max(time.monotonic() - s.job.started_at for s in served if not s.job.done)
    return ApiError(
        503,
        f"The model is still loading ({seconds:.0f} s so far); try again shortly.",
        "model_loading",
        retry_after=5,
    )
