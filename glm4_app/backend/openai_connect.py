"""Set up the OpenAI-compatible backends from settings: which model, its window, a tokenizer.

No weights are loaded. The server is asked which models it serves (``/v1/models``; vLLM
adds ``max_model_len``, the context window, and ``root``, the checkpoint it serves). For
``GLM4_BACKEND=openai`` the tokenizer comes from GLM4_OPENAI_TOKENIZER, else that checkpoint,
else the model name; ``openai-chat`` needs none (the server renders and parses tool calls).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Callable

import openai

from ..notices import Notice
from ..settings import Settings
from ..vision.profiles import profile_by_name
from .loader import LoadError, trust_remote_code
from .openai_backend import OpenAIBackend
from .openai_chat import OpenAIChatBackend
from .openai_errors import error_event
from .openai_wire import make_client, thinking_by_name, vision_by_name
from .prompt import PromptRenderer

# GLM-4 ends a turn on these; used when the checkpoint's generation config is not at hand.
GLM_STOP_TOKENS = ("<|endoftext|>", "<|user|>", "<|observation|>")
DEFAULT_WINDOW = 8192
# A chat-completions API rarely says its window: the meter assumes GLM-4's 128K (an estimate).
CHAT_DEFAULT_WINDOW = 131072


def connect_openai_backend(
    settings: Settings,
    progress: Callable[[Notice], None],
    *,
    base_url: str | None = None,
    model: str | None = None,
    tokenizer: str | None = None,
    vision: bool = False,
) -> OpenAIBackend:
    """The backend for the chat server, or (``base_url``/``model`` given) another one such as
    a GLM-4V server for Vision: vLLM serves one model per server."""
    base_url = (base_url or settings.openai_base_url).rstrip("/")
    client = make_client(settings, base_url)
    progress(Notice("load.asking_server", base_url=base_url))
    card = _model_card(client, base_url, settings, settings.openai_model if model is None else model)
    model = card["id"]
    renderer, stop_ids, why_not = None, [], ""
    wanted_tokenizer = settings.openai_tokenizer if tokenizer is None else tokenizer
    if wanted_tokenizer.lower() != "none":
        sources = [wanted_tokenizer] if wanted_tokenizer else [card.get("root"), model]
        for source in dict.fromkeys(s for s in sources if s and _may_be_checkpoint(s)):
            progress(Notice("load.server_tokenizer", source=source))
            try:
                loaded, stop_ids = load_tokenizer(source, settings)
            except Exception as exc:  # noqa: BLE001 - any failure means: let the server render
                why_not = f"{source}: {type(exc).__name__}: {exc}"
                continue
            renderer = PromptRenderer(loaded, model, settings.tool_format)
            break
    window = card.get("max_model_len") or _tokenizer_window(renderer) or DEFAULT_WINDOW
    if settings.max_context:
        window = min(window, settings.max_context)
    notice = None
    if renderer is None:
        reason = (
            Notice("server.tokenizer_failed", error=why_not[:300]) if why_not
            else Notice("server.tokenizer_none") if wanted_tokenizer.lower() == "none"
            else Notice("server.tokenizer_not_found", model=model)
        )
        notice = Notice("server.renders_prompts", reason=reason)
    return OpenAIBackend(
        client,
        base_url,
        model,
        context_window=window,
        renderer=renderer,
        stop_token_ids=stop_ids,
        timeout_s=settings.openai_timeout_s,
        notice=notice,
        # GLM-Z1's template opens <think> itself; without the template, go by the checkpoint.
        reasoning=any("z1" in name.lower() for name in (model, card.get("root") or "")),
        thinking_switch=any(thinking_by_name(name) for name in (model, card.get("root") or "")),
        vision=vision or any(vision_by_name(name) for name in (model, card.get("root") or "")),
    )


def connect_openai_vision_backend(settings: Settings, progress: Callable[[Notice], None]) -> OpenAIBackend:
    """Vision's backend: GLM4_VISION_MODEL as served by GLM4_OPENAI_VISION_BASE_URL (or the
    chat server, when one server could serve both)."""
    if not settings.vision_model:
        raise LoadError(Notice("load.no_vision_model"), Notice("load.no_served_vision_model_hint"))
    base_url = settings.openai_vision_base_url or settings.openai_base_url
    if settings.backend == "openai-chat":
        backend = connect_openai_chat_backend(
            settings, progress, base_url=base_url, model=settings.vision_model, vision=True
        )
    else:
        backend = connect_openai_backend(
            settings,
            progress,
            base_url=base_url,
            model=settings.vision_model,
            tokenizer="",  # GLM4_OPENAI_TOKENIZER is the chat model's; this one's is its own
            vision=True,
        )
    backend.profile = profile_by_name(settings.vision_model)  # the page checks its rules
    if settings.backend == "openai":
        # Images go to chat completions, where the server (not this app) would have to parse
        # tool calls: tools in Vision need GLM4_BACKEND=openai-chat.
        backend.info = replace(backend.info, tools=False)
    return backend


def connect_openai_chat_backend(
    settings: Settings,
    progress: Callable[[Notice], None],
    *,
    base_url: str | None = None,
    model: str | None = None,
    vision: bool = False,
) -> OpenAIChatBackend:
    """A chat-completions API with native tool calls: no tokenizer, the server renders the
    prompt and parses the model's calls (vLLM/SGLang need a tool parser for that)."""
    base_url = (base_url or settings.openai_base_url).rstrip("/")
    client = make_client(settings, base_url)
    wanted = settings.openai_model if model is None else model
    progress(Notice("load.asking_server", base_url=base_url))
    card = _model_card(client, base_url, settings, wanted, optional=bool(wanted))
    window = card.get("max_model_len") or settings.max_context or CHAT_DEFAULT_WINDOW
    if settings.max_context:
        window = min(window, settings.max_context)
    return OpenAIChatBackend(
        client,
        base_url,
        card["id"],
        context_window=window,
        timeout_s=settings.openai_timeout_s,
        window_known=bool(card.get("max_model_len") or settings.max_context),
        vision=vision or vision_by_name(card["id"]),
    )


def _model_card(
    client: openai.OpenAI, base_url: str, settings: Settings, wanted: str, optional: bool = False
) -> dict:
    """The served model's card from ``/models``. ``optional``: a server without that route
    (some hosted APIs) is fine when the model is named in the settings."""
    try:
        cards = [m.model_dump() for m in client.models.list().data]
    except openai.AuthenticationError as exc:
        raise LoadError(
            Notice("load.server_refused_key", base_url=base_url, status=exc.status_code),
            Notice("load.server_key_hint"),
            str(exc.body)[:1000],
        ) from None
    except openai.APIStatusError as exc:
        if optional and exc.status_code in (404, 405):
            return {"id": wanted}
        raise LoadError(
            Notice("load.server_models_status", base_url=base_url, status=exc.status_code),
            Notice("load.server_base_url_hint"),
            str(exc.body)[:1000],
        ) from None
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        words = error_event(exc, base_url, wanted, settings.openai_timeout_s, list).message
        raise LoadError(Notice("load.server_unreachable"), words, repr(exc.__cause__ or exc)) from None
    except Exception as exc:  # noqa: BLE001 - an answer that is not a model list
        raise LoadError(
            Notice("load.server_not_a_model_list", base_url=base_url),
            Notice("load.server_base_url_hint"),
            f"{type(exc).__name__}: {exc}"[:1000],
        ) from None
    cards = [c for c in cards if isinstance(c, dict) and c.get("id")]
    for card in cards:
        if card["id"] == wanted or not wanted:
            return card
    if optional and not cards:
        return {"id": wanted}
    offered = tuple(c["id"] for c in cards) or Notice("server.no_models")
    raise LoadError(
        Notice("load.server_lacks_model", base_url=base_url, model=wanted or Notice("load.any_model")),
        Notice("load.server_offers", offered=offered),
        ", ".join(c["id"] for c in cards)[:1000],
    )


def load_tokenizer(source: str, settings: Settings):
    """(tokenizer, stop token ids) of a checkpoint: hub id or local folder, no weights."""
    from transformers import AutoTokenizer, GenerationConfig

    remote = trust_remote_code(settings, source)
    tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=remote)
    try:
        eos = GenerationConfig.from_pretrained(source).eos_token_id
    except Exception:  # noqa: BLE001 - no generation_config.json: fall back to the GLM tokens
        eos = None
    ids = [eos] if isinstance(eos, int) else list(eos or [])
    vocab = tokenizer.get_vocab()
    candidates = [tokenizer.eos_token_id] + ([] if ids else [vocab.get(t) for t in GLM_STOP_TOKENS])
    ids += [i for i in candidates if i is not None and i not in ids]
    return tokenizer, ids


def _may_be_checkpoint(source: str) -> bool:
    """A local folder or something shaped like a hub id (``owner/name``): a served name such
    as ``glm`` is neither, and asking the hub about it only costs time."""
    return Path(source).expanduser().is_dir() or re.fullmatch(r"[\w.\-]+/[\w.\-]+", source) is not None


def _tokenizer_window(renderer: PromptRenderer | None) -> int | None:
    length = getattr(renderer.tokenizer, "model_max_length", None) if renderer else None
    return length if isinstance(length, int) and 0 < length < 10_000_000 else None
