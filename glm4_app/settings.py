"""One settings object, read from environment variables and Streamlit secrets.

Precedence: environment variable > secrets entry (same name, lower case, without the
``GLM4_`` prefix) > default. Every field is documented in README's settings table, and a
test keeps the two in sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

APP_DIR = Path(__file__).resolve().parent.parent
DATABASE_FILE = "conversations.sqlite3"  # in the data directory: conversations, accounts, shares


class SettingsError(ValueError):
    pass


def _setting(default: Any, help: str, choices: tuple[str, ...] = ()) -> Any:
    return field(default=default, metadata={"help": help, "choices": choices})


@dataclass(frozen=True)
class Settings:
    chat_model: str = _setting(
        "auto",
        "Chat model: a hub id or a local folder. `auto` picks THUDM/glm-4-9b-chat-hf on a GPU "
        "and the bundled offline model otherwise; `offline:smollm2` forces the bundled model.",
    )
    vision_model: str = _setting(
        "", "Vision model for the Vision mode (hub id or local folder); empty: none configured."
    )
    quantization: str = _setting(
        "none", "Load weights quantised with bitsandbytes.", ("none", "8bit", "4bit")
    )
    device: str = _setting("auto", "`auto` (CUDA when present), `cpu`, `cuda` or `cuda:N`.")
    dtype: str = _setting(
        "auto",
        "Weights dtype. `auto` is bfloat16 on a GPU; on the CPU the checkpoint's own bfloat16 "
        "or float32 (never float16). float16 is refused for GLM models (it produces garbage).",
        ("auto", "bfloat16", "float32", "float16"),
    )
    trust_remote_code: str = _setting(
        "auto",
        "Run code shipped with a checkpoint. `auto` allows it only for the official remote-code "
        "GLM checkpoints (THUDM/zai-org glm-4-9b-chat, -1m, glm-4v-9b).",
        ("auto", "true", "false"),
    )
    max_context: int = _setting(
        0, "Largest prompt + answer in tokens; 0 uses the model's own context window."
    )
    language: str = _setting(
        "auto",
        "UI language at first visit; users switch it in the sidebar. `auto` follows the browser.",
        ("auto", "en", "zh"),
    )
    max_new_tokens: int = _setting(2048, "Default (and initial slider value) for answer length.")
    data_dir: Path = _setting(
        APP_DIR / "data",
        "Conversations database and the converted offline model live here. The app makes it "
        "private (mode 0711, its databases 0600: see Code sandbox); give it a folder of its own.",
    )
    queue_max: int = _setting(
        32, "Requests allowed to wait for the model; later ones are refused with a message."
    )
    prefix_cache_mb: int = _setting(
        4096,
        "Memory for reusing the keys/values of each conversation's unchanged prefix (documents, "
        "earlier turns) in follow-up questions; least recently used first out. 0 turns it off.",
    )
    max_batch: int = _setting(
        8,
        "Requests decoded together in one forward pass (continuous batching): a new request "
        "joins between steps once its prompt is read. 1 serves one request at a time.",
    )
    batch_tokens: int = _setting(
        0,
        "Most keys/values the decoding batch may hold, in tokens (rows x longest row, prompt and "
        "answer); a request that would exceed it waits. 0: half the memory free after loading.",
    )
    kv_cache: str = _setting(
        "auto",
        "Key/value cache of the decoding batch. `static`: preallocated, `GLM4_MAX_BATCH` rows "
        "sharing the `GLM4_BATCH_TOKENS` budget, decode steps replayed as CUDA graphs on a GPU; "
        "a request longer than a row decodes on `dynamic`, which grows step by step and serves "
        "every checkpoint. `auto`: static on a GPU, dynamic on the CPU.",
        ("auto", "static", "dynamic"),
    )
    prefill_chunk: int = _setting(
        512,
        "Prompt tokens processed per forward pass; Stop is honoured between chunks, so smaller "
        "chunks stop a long prefill sooner.",
    )
    orphan_timeout_s: int = _setting(
        600,
        "An answer keeps being written when its page is closed or reloaded; one that no page "
        "has shown for this long is stopped (what it wrote is kept). 0: never stopped.",
    )
    # -- Serving from an OpenAI-compatible server (vLLM) ------------------------------------
    backend: str = _setting(
        "inprocess",
        "Where answers come from: `inprocess` loads the model into this app; `openai` sends "
        "every mode to an OpenAI-compatible server such as `vllm serve`, rendering prompts here "
        "(see Scale out with vLLM); `openai-chat` talks to any chat-completions API with native "
        "tool calls: Zhipu's open platform, vLLM/SGLang with a tool parser, Ollama, llama.cpp "
        "(see Chat-completions APIs).",
        ("inprocess", "openai", "openai-chat"),
    )
    openai_base_url: str = _setting(
        "http://127.0.0.1:8000/v1", "Base URL of the OpenAI-compatible server (with `/v1`)."
    )
    openai_api_key: str = _setting(
        "", "API key the server expects (`vllm serve --api-key`, Zhipu's key, ...)."
    )
    openai_model: str = _setting(
        "", "Model name the server serves; empty: the server's only (or first) model."
    )
    openai_tokenizer: str = _setting(
        "",
        "Tokenizer for rendering prompts locally (hub id or local folder); empty: the model "
        "name; `none`: let the server render (no All Tools, estimated token counts).",
    )
    openai_vision_base_url: str = _setting(
        "",
        "Server of the Vision model (GLM4_VISION_MODEL is its served name) when the backend is "
        "`openai`; empty: the chat server.",
    )
    openai_timeout_s: int = _setting(
        300, "Seconds to wait for the server's next bytes (first token included) before giving up."
    )
    # -- Long document mode ----------------------------------------------------------------
    doc_max_file_mb: int = _setting(50, "Largest single upload in Long document mode.")
    doc_max_total_mb: int = _setting(200, "Largest total of the documents in one conversation.")
    doc_max_pages: int = _setting(2000, "Most pages (PDF pages, slides) one document may have.")
    doc_timeout_s: int = _setting(
        30,
        "Longest time reading one uploaded file may take; a worker process taking longer is "
        "killed and the file refused. 0: no limit.",
    )
    doc_memory_mb: int = _setting(
        1024,
        "Most memory reading one uploaded file may use (in a worker process, on top of the "
        "parsers' own); past it the file is refused.",
    )

    # -- Hosting for a team: login and per-user limits ---------------------------------------
    auth: str = _setting(
        "none",
        "Login: `none` (anyone with the link; a cookie keeps each browser's conversations), "
        "`password` (accounts, see `python -m glm4_app.users`), `header` (an authenticating "
        "reverse proxy names the user in `GLM4_AUTH_HEADER`) or `oidc` (Streamlit's `st.login`, "
        "configured in `.streamlit/secrets.toml` `[auth]`).",
        ("none", "password", "header", "oidc"),
    )
    signup: str = _setting(
        "off",
        "With `GLM4_AUTH=password`: `off` (an admin creates accounts), `first` (the sign-in page "
        "offers to create the first account, which becomes admin, then closes) or `open` "
        "(anyone may create an account; the first one is admin).",
        ("off", "first", "open"),
    )
    session_days: int = _setting(
        7, "Days a sign-in lasts (the session cookie) before signing in again (at least 1)."
    )
    auth_header: str = _setting(
        "X-Forwarded-Email",
        "With `GLM4_AUTH=header`: the request header that carries the signed-in user (oauth2-proxy: "
        "X-Forwarded-Email; Authelia: Remote-User; Cloudflare Access: Cf-Access-Authenticated-User-Email).",
    )
    trusted_proxies: str = _setting(
        "",
        "With `GLM4_AUTH=header`: comma-separated addresses or CIDR ranges of the proxies allowed to "
        "set that header; from anywhere else it is ignored.",
    )
    public_shares: str = _setting(
        "false",
        "With a login, share links open for signed-in users only; `true` lets owners mark a link "
        "as open to anyone, without signing in. Without a login every link opens for whoever "
        "can reach the server.",
        ("false", "true"),
    )
    api: str = _setting(
        "off",
        "Serve the OpenAI-compatible API (`/v1/models`, `/v1/chat/completions`) with per-user API keys.",
        ("off", "on"),
    )
    metrics_token: str = _setting(
        "", "When set, `/metrics` answers only requests with `Authorization: Bearer <this token>`."
    )
    scripted_replies: str = _setting(
        "",
        "Tests only: a JSON file of raw model outputs; the API then also serves a model named "
        "`scripted` that replays them in turn, in GLM-4's format or the one the file names "
        "(`\"format\": \"glm45\"`; see glm4_app/scripted.py). With `GLM4_CHAT_MODEL=scripted` the "
        "pages answer with it too.",
    )
    user_requests_per_minute: int = _setting(
        0, "Answers one user may ask for in any 60 s; 0 = unlimited."
    )
    user_concurrent_requests: int = _setting(
        0, "Answers one user may have in progress at once (several tabs); 0 = unlimited."
    )
    user_upload_mb: int = _setting(0, "Largest file one user may upload, in MB; 0 = unlimited.")
    user_context_tokens: int = _setting(
        0, "Largest prompt (history, documents, tools) one request may send, in tokens; 0 = unlimited."
    )

    # -- All Tools mode --------------------------------------------------------------------
    tool_max_steps: int = _setting(10, "Most tool calls the model may chain in one answer.")
    tool_format: str = _setting(
        "auto",
        "How a GLM checkpoint writes tool calls. `auto`: from its chat template (GLM-4's "
        "`name` + newline + arguments, or GLM-4.5+'s `<tool_call>` with `<arg_key>`/`<arg_value>` "
        "pairs); `json`: checkpoints fine-tuned on the official data, which write "
        "`{\"name\": ..., \"arguments\": ...}`; `glm4`/`glm45` force one of the two.",
        ("auto", "glm4", "json", "glm45"),
    )
    mcp_config: str = _setting(
        "",
        "JSON file of MCP servers whose tools are offered in All Tools, in the `mcpServers` "
        "layout of Claude Desktop and Cursor (see MCP servers); empty: none.",
    )
    mcp_timeout_s: int = _setting(
        60, "Seconds one MCP tool call may take (a server entry's `timeout` overrides it)."
    )
    mcp_start_timeout_s: int = _setting(
        30, "Seconds an MCP server may take to start and list its tools."
    )
    tools_dir: Path = _setting(
        APP_DIR / "user_tools",
        "Folder of `.py` files whose `@tool`-decorated functions are offered to the model.",
    )
    python_timeout_s: int = _setting(
        60, "A Python cell running longer is interrupted (the prompt promises 60 s)."
    )
    python_output_chars: int = _setting(
        4000, "Characters of a cell's output sent to the model; the UI shows all of it."
    )
    python_memory_mb: int = _setting(
        2048,
        "Memory of a session's kernel and everything it starts, together (a cgroup where the "
        "machine allows one, else the sum watched); each process's address space is capped too.",
    )
    python_cpu_s: int = _setting(600, "CPU seconds a kernel may use in all before it is killed.")
    python_max_processes: int = _setting(
        64,
        "Processes and threads a session's kernel and everything it starts may run at once "
        "(stops fork bombs).",
    )
    python_file_mb: int = _setting(200, "Largest file the kernel may write.")
    python_disk_mb: int = _setting(
        1024,
        "Disk quota of a session's files: /mnt/data, and the sandbox's private /tmp and /dev/shm "
        "(each a tmpfs of this size), together. A cell that writes past it is stopped.",
    )
    kernel_idle_s: int = _setting(
        1800,
        "A session's Python kernel and local MCP servers are shut down after this long unused "
        "(0: never).",
    )
    # -- Hosting: the code sandbox ------------------------------------------------------------
    hosted: str = _setting(
        "auto",
        "Team hosting. `auto`: hosted when Streamlit listens on a non-loopback address (its "
        "default listens on all interfaces; `--server.address 127.0.0.1` keeps it local).",
        ("auto", "true", "false"),
    )
    kernel_sandbox: str = _setting(
        "auto",
        "Run each session's Python kernel in a bubblewrap sandbox (only its own folder, no view "
        "of the app or other sessions). `auto`: wherever bubblewrap works, and when it does not, "
        "locally without it (the page says what is lost) and hosted not at all. `on`: never "
        "without it. `off`: never in it.",
        ("auto", "on", "off"),
    )
    kernel_network: str = _setting(
        "auto",
        "Whether a sandboxed kernel may use the network. `auto`: yes locally, no when hosted.",
        ("auto", "true", "false"),
    )
    allow_unsandboxed_kernel: str = _setting(
        "false",
        "When the sandbox is wanted but cannot work here (no bwrap), still offer the Python tool, "
        "unisolated. Otherwise the tool is off and the UI says why.",
        ("false", "true"),
    )
    artifact_network: str = _setting(
        "on",
        "What previews of model-written web pages may load: `on`: scripts, styles, images, fonts "
        "and media from https (CDNs); `off`: nothing from the network, but a preview that navigates "
        "itself (one request, then it is stopped). Never fetch/XHR/WebSocket, "
        "never the app itself (see The sandbox of a preview).",
        ("on", "off"),
    )
    search_provider: str = _setting(
        "",
        "Web search for the browser tool; empty offers the browser without `search`.",
        ("", "searxng", "brave"),
    )
    search_url: str = _setting(
        "", "SearXNG base URL (its JSON API must be enabled), or a Brave-compatible endpoint."
    )
    search_api_key: str = _setting("", "Key for a key-based search API (Brave Search).")
    browser_allowlist: str = _setting(
        "",
        "Comma-separated hosts or CIDR ranges the browser may fetch although they are loopback, "
        "private or link-local (blocked by default).",
    )
    browser_timeout_s: int = _setting(15, "Timeout of one page fetch or search.")
    browser_max_bytes: int = _setting(3_000_000, "Largest page the browser downloads.")
    image_api_url: str = _setting(
        "",
        "OpenAI-compatible images API base URL for text-to-image (Zhipu: "
        "https://open.bigmodel.cn/api/paas/v4); empty: the tool is not offered.",
    )
    image_api_key: str = _setting("", "Key for the images API.")
    image_model: str = _setting("cogview-4", "Model name sent to the images API.")

    # -- Vision mode -----------------------------------------------------------------------
    vision_quantization: str = _setting(
        "none",
        "Load the vision model quantised with bitsandbytes (its vision tower and output layer "
        "stay unquantised).",
        ("none", "8bit", "4bit"),
    )
    vision_image_max_side: int = _setting(
        2240, "Uploaded images are downscaled so that their longer side is at most this."
    )
    vision_max_upload_mb: int = _setting(20, "Largest image file accepted in Vision mode.")
    model_memory_mb: int = _setting(
        0,
        "Memory budget (MiB) for resident models. When loading the chat or vision model would exceed "
        "it with the other one loaded, the other is unloaded first. 0 keeps both loaded.",
    )

    @classmethod
    def load(
        cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None
    ) -> "Settings":
        import os

        env = os.environ if env is None else env
        secrets = secrets or {}
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = env_name(f.name)
            if var in env:
                raw, origin = env[var], var
            elif f.name in secrets:
                raw, origin = secrets[f.name], f"secrets entry {f.name!r}"
            else:
                continue
            values[f.name] = _parse(f, raw, origin)
        return cls(**values)

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)

    @property
    def database(self) -> Path:
        """The SQLite file of conversations, accounts and share links."""
        return self.data_dir / DATABASE_FILE


def file_secrets() -> dict[str, Any]:
    """Top-level entries of the ``secrets.toml`` files Streamlit reads (``~/.streamlit``, the
    working directory's ``.streamlit``, the app's ``.streamlit``; later ones win), for code
    that runs outside a page, such as the server's routes and its start-up."""
    import tomllib

    found: dict[str, Any] = {}
    candidates = [Path.home(), Path.cwd(), APP_DIR]
    for folder in dict.fromkeys(p.resolve() for p in candidates):
        path = folder / ".streamlit" / "secrets.toml"
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        found.update({k: v for k, v in data.items() if not isinstance(v, dict)})
    return found


def env_name(field_name: str) -> str:
    return "GLM4_" + field_name.upper()


def _parse(f, raw: Any, origin: str) -> Any:
    text = str(raw).strip()
    choices = f.metadata["choices"]
    if f.type in ("int", int):
        try:
            value: Any = int(text)
        except ValueError:
            raise SettingsError(f"{origin} must be a whole number, got {text!r}") from None
        if value < 0:
            raise SettingsError(f"{origin} must not be negative, got {value}")
        return value
    if f.type in ("Path", Path):
        return Path(text).expanduser()
    value = text.lower() if choices else text
    if choices and value not in choices:
        raise SettingsError(f"{origin} must be one of {', '.join(choices)}; got {text!r}")
    return value


def settings_table() -> str:
    """The README table of settings, generated from the dataclass so it cannot drift."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for f in fields(Settings):
        default = {"data_dir": "`./data`", "tools_dir": "`./user_tools`"}.get(
            f.name, f"`{f.default}`" if f.default != "" else "(empty)"
        )
        meaning = f.metadata["help"]
        if f.metadata["choices"]:
            meaning += " One of " + ", ".join(f"`{c}`" for c in f.metadata["choices"] if c) + "."
        rows.append(f"| `{env_name(f.name)}` | {default} | {meaning} |")
    return "\n".join(rows)
