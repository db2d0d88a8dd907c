"""GLM-4-9B-Chat's ``simple_browser`` tool, in-process: search, mclick, open_url.

The model writes one command per line (see ``USAGE``). Observations follow the reference demo:

* search: ``browser_result`` metadata; one block per hit, `` # 【id†title†host】`` then the
  snippet.
* mclick / open_url: ``quote_result [id†source]`` metadata. Each opened page becomes one section
  headed ``【id†title†host】`` then its URL and text. When several pages open in one call, their
  sections are concatenated in the order asked and the metadata lists every id
  (``quote_result [4†source] [5†source]``): one observation per call, as ToolResult allows.
  Pages that fail are listed after the pages, with the reason; they get no id.

Ids: ONE counter per conversation (this object; ``reset()`` for a new one) numbers both search
hits and opened pages, starting at 0. Every id in a conversation is therefore unique, mclick may
name any of them, and a citation ``【3†...】`` always maps to exactly one URL, whether the model
cites a page it opened or a search hit.
"""

from __future__ import annotations

import ast
import concurrent.futures as cf
import logging
import math
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import urlsplit

from glm4_app.notices import Notice, NoticeError, of
from glm4_app.settings import Settings
from glm4_app.tools.base import Citation, ToolCall, ToolResult
from glm4_app.tools.search import SearchError, not_configured_reason, search
from glm4_app.tools.web_fetch import AddressPolicy, FetchError, Fetcher, Page

log = logging.getLogger(__name__)

USAGE = """Valid simple_browser commands, one per line:
search("query", recency_days=365)  - web search; recency_days is optional
mclick([0, 3, 5])                  - open search results by their ids
open_url("https://example.com/")   - open one URL"""
MAX_COMMANDS = 5
MAX_PAGES = 10  # the prompt asks for 3-10 pages per mclick
PAGE_CHARS = 6000  # per page: ten pages stay around 60K characters
CONCURRENCY = 5
_PARAMS = {"search": ("query", "recency_days"), "mclick": ("ids",), "open_url": ("url",)}
_REQUIRED = {"search": 1, "mclick": 1, "open_url": 1}


class CommandError(NoticeError):
    """A command the model wrote cannot be run: ``.notice`` says why."""


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple


def parse_commands(body: str) -> list[Command]:
    """The commands of one call. Parsed with ``ast`` and literal_eval: nothing is executed."""
    lines = [line.strip().rstrip(";").strip() for line in body.strip().splitlines()]
    lines = [line for line in lines if line and not line.startswith("```")]  # fenced calls
    if not lines:
        raise CommandError(Notice("browser.empty_call"))
    if len(lines) > MAX_COMMANDS:
        raise CommandError(Notice("browser.too_many_commands", limit=MAX_COMMANDS))
    return [_parse_line(line) for line in lines]


def _parse_line(line: str) -> Command:
    shown = repr(line[:200])
    try:
        if len(line) > 4000:
            raise ValueError("too long")
        call = ast.parse(line, mode="eval").body
        if not isinstance(call, ast.Call):
            raise ValueError("not a call")
        # `search(...)`, also tolerated as `simple_browser.search(...)`
        name = getattr(call.func, "id", None) or getattr(call.func, "attr", None)
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (SyntaxError, ValueError, TypeError, RecursionError, MemoryError):
        raise CommandError(Notice("browser.cannot_understand", line=shown)) from None
    if name not in _PARAMS:
        raise CommandError(Notice("browser.unknown_command", name=repr(name), line=shown))
    params = _PARAMS[name]
    if None in kwargs or len(args) > len(params) or set(kwargs) - set(params[len(args):]):
        raise CommandError(Notice("browser.wrong_arguments", line=shown))
    values = dict(zip(params, args)) | kwargs
    if len(values) < _REQUIRED[name]:
        raise CommandError(Notice("browser.missing_argument", line=shown))
    return Command(name, _validate(name, values, shown))


def _validate(name: str, values: dict, line: str) -> tuple:
    def as_int(value: Any) -> int:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise CommandError(Notice("browser.not_a_number", value=repr(value), line=line))

    if name == "search":
        query, days = values["query"], values.get("recency_days")
        if not isinstance(query, str) or not query.strip():
            raise CommandError(Notice("browser.search_needs_query", line=line))
        return (query.strip(), None if days is None else as_int(days))
    if name == "mclick":
        ids = values["ids"]
        ids = list(ids) if isinstance(ids, (list, tuple)) else [ids]
        if not ids:
            raise CommandError(Notice("browser.mclick_needs_id", line=line))
        return (tuple(as_int(i) for i in ids),)
    url = values["url"]
    if not isinstance(url, str) or not url.strip():
        raise CommandError(Notice("browser.open_url_needs_url", line=line))
    url = url.strip()
    return (url if "://" in url else "https://" + url,)  # open_url("example.com")


@dataclass
class _Output:
    text: str
    is_error: bool = False
    quote_ids: tuple[int, ...] = ()
    citations: tuple[Citation, ...] = ()
    notices: tuple[Notice, ...] = ()  # what of ``text`` the user reads in their language


def _told(notice: Notice, is_error: bool = True) -> _Output:
    return _Output(str(notice), is_error, notices=(notice,))


class BrowserTool:
    name = "simple_browser"

    def __init__(self, settings: Settings, *, page_chars: int = PAGE_CHARS) -> None:
        self.settings = settings
        self.page_chars = page_chars
        self._fetcher = Fetcher(
            AddressPolicy(settings.browser_allowlist),
            settings.browser_timeout_s,
            settings.browser_max_bytes,
        )
        self._lock = threading.Lock()
        self.reset()

    def declaration(self) -> dict[str, Any]:
        return {"type": "simple_browser"}

    @property
    def search_available(self) -> bool:
        return not_configured_reason(self.settings) is None

    def reset(self, known: Iterable[Citation] = ()) -> None:
        """Start a conversation: numbering at 0, or, for a conversation reopened from storage,
        after the ``known`` citations it already holds (so old and new ids never collide)."""
        with self._lock:
            self._sources: dict[int, Citation] = {c.id: c for c in known}
            self._next_id = max(self._sources, default=-1) + 1

    def citations(self) -> tuple[Citation, ...]:
        """Every id known in this conversation (search hits and opened pages)."""
        with self._lock:
            return tuple(self._sources.values())

    def run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        try:
            return self._run(call, cancel)
        except Exception as exc:  # never raise: the model gets the error as its observation
            log.exception("browser tool failed")
            notice = Notice("browser.failed", error=f"{type(exc).__name__}: {exc}")
            return ToolResult.failure(notice, metadata="browser_result")

    def _run(self, call: ToolCall, cancel: threading.Event) -> ToolResult:
        try:
            commands = parse_commands(call.body)
        except CommandError as exc:  # the model gets the usage too; the user, what was wrong
            return ToolResult(f"{exc}\n{USAGE}", metadata="browser_result", is_error=True,
                              display=str(exc), notices=(exc.notice,))
        outputs: list[_Output] = []
        for command in commands:
            if cancel.is_set():
                outputs.append(_told(Notice("browser.cancelled")))
                break
            outputs.append(getattr(self, "_" + command.name)(*command.args, cancel=cancel))
        quote_ids = [i for out in outputs for i in out.quote_ids]
        metadata = ("quote_result " + " ".join(f"[{i}†source]" for i in quote_ids)
                    if quote_ids else "browser_result")
        return ToolResult(
            text="\n\n".join(out.text for out in outputs),
            metadata=metadata,
            is_error=all(out.is_error for out in outputs),
            citations=tuple(c for out in outputs for c in out.citations),
            notices=tuple(n for out in outputs for n in out.notices),
        )

    # --- Commands ---------------------------------------------------------------------------

    def _search(self, query: str, recency_days: int | None, cancel: threading.Event) -> _Output:
        reason = not_configured_reason(self.settings)
        if reason:
            return _told(Notice("browser.search_unavailable", reason=reason))
        [result] = self._in_threads([lambda: search(self.settings, query, recency_days)], cancel)
        if isinstance(result, BaseException):
            return _told(Notice("browser.search_failed", query=repr(query), reason=_reason(result)))
        if not result:
            return _told(Notice("browser.no_results", query=repr(query)), is_error=False)
        blocks, citations = [], []
        for hit in result:
            citation = self._register(hit.title, hit.url)
            citations.append(citation)
            header = f" # 【{citation.id}†{_safe(hit.title)}†{_host(hit.url)}】"
            blocks.append(f"{header}\n{hit.snippet}")
        return _Output("\n\n".join(blocks), citations=tuple(citations))

    def _mclick(self, ids: tuple[int, ...], cancel: threading.Event) -> _Output:
        ids = tuple(dict.fromkeys(ids))
        notes = [Notice("browser.first_ids_only", limit=MAX_PAGES)] if len(ids) > MAX_PAGES else []
        with self._lock:
            known = [self._sources[i] for i in ids[:MAX_PAGES] if i in self._sources]
        unknown = [i for i in ids[:MAX_PAGES] if i not in {c.id for c in known}]
        if unknown:
            notes.append(Notice("browser.unknown_ids", ids=str(unknown)))
        if not known:
            notes.append(Notice("browser.use_search_ids"))
            return _Output(" ".join(map(str, notes)), is_error=True, notices=tuple(notes))
        return self._open([(f"[{c.id}] {c.url}", c.url) for c in known], cancel, notes)

    def _open_url(self, url: str, cancel: threading.Event) -> _Output:
        return self._open([(url, url)], cancel, [])

    # --- Helpers ----------------------------------------------------------------------------

    def _open(self, targets: list[tuple[str, str]], cancel: threading.Event, notes: list[Notice]
              ) -> _Output:
        """Fetch (label, url) pairs concurrently; number the pages that opened, in order."""
        jobs = [lambda url=url: self._fetcher.fetch(url, cancel) for _, url in targets]
        results = self._in_threads(jobs, cancel)
        sections, failures, citations, notices = [], [], [], []
        for (label, _), result in zip(targets, results):
            if isinstance(result, Page):
                citation = self._register(result.title, result.url)
                citations.append(citation)
                quote, told = self._quote(citation.id, result)
                sections.append(quote)
                notices += told
            else:
                failures.append(Notice("browser.could_not_open", target=label, reason=_reason(result)))
        if failures or notes:
            sections.append("\n".join(map(str, failures + notes)))
        text = "\n\n".join(sections)
        return _Output(text, not citations, tuple(c.id for c in citations), tuple(citations),
                       tuple(notices + failures + notes))

    def _quote(self, quote_id: int, page: Page) -> tuple[str, list[Notice]]:
        """An opened page's section, and the notices in it (the user reads them worded)."""
        told = []
        text = page.text
        if not text:
            told.append(Notice("browser.no_readable_text"))
            text = str(told[-1])
        if len(text) > self.page_chars or page.truncated:
            told.append(Notice("browser.page_truncated"))
            text = text[: self.page_chars].rstrip() + "\n" + str(told[-1])
        return f"【{quote_id}†{_safe(page.title)}†{_host(page.url)}】\n{page.url}\n{text}", told

    def _register(self, title: str, url: str) -> Citation:
        with self._lock:
            citation = Citation(self._next_id, title, url)
            self._sources[citation.id] = citation
            self._next_id += 1
        return citation

    def _in_threads(self, jobs: list[Callable[[], Any]], cancel: threading.Event) -> list[Any]:
        """Run jobs concurrently; each result is a value or the exception it raised.

        The jobs enforce their own timeouts; the overall wait is bounded as well (a DNS lookup
        has no timeout) and stops at once on cancel, leaving stragglers to finish on their own.
        """
        pool = cf.ThreadPoolExecutor(min(CONCURRENCY, len(jobs)), thread_name_prefix="browser")
        futures = [pool.submit(job) for job in jobs]
        rounds = math.ceil(len(jobs) / CONCURRENCY)
        deadline = time.monotonic() + self.settings.browser_timeout_s * rounds + 5
        try:
            while not cancel.is_set() and time.monotonic() < deadline:
                if not cf.wait(futures, timeout=0.1, return_when=cf.ALL_COMPLETED).not_done:
                    break
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        gone = FetchError(Notice("fetch.cancelled") if cancel.is_set() else Notice("browser.timed_out"))
        return [(f.exception() or f.result()) if f.done() and not f.cancelled() else gone
                for f in futures]


def _reason(exc: BaseException) -> Notice | str:
    """Why a page or a search failed: a notice, or for a bug, the exception's text."""
    if isinstance(exc, (FetchError, SearchError)):
        return of(exc)
    return f"{type(exc).__name__}: {exc}"


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def _safe(title: str) -> str:
    """Titles go inside 【...†...】: keep them on one line and free of the delimiters."""
    return " ".join(title.replace("†", " ").replace("【", "[").replace("】", "]").split())[:200]


# --- Citations in the answer (used by the UI) -------------------------------------------------

_CITATION = re.compile(r"【(\d+)†[^】\n]*】")
_CODE = re.compile(r"(```.*?(?:```|\Z)|`[^`\n]*`)", re.S)


def safe_url(url: str) -> str | None:
    """``url`` as a Markdown link target: web addresses only (never ``javascript:`` or
    ``data:``), with the spaces and parentheses that would end the target escaped; None for
    anything else."""
    if not url.startswith(("http://", "https://")):
        return None
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def link_citations(markdown_text: str, citations: Iterable[Citation] | Mapping[int, Any]) -> str:
    """Turn ``【3†Apple Inc.】`` into a numbered link, ``[[3]](url "page title")``, as chat
    apps show sources; an id with no page known (or no web address) becomes a plain ``[3]``.

    ``citations``: Citation objects, or a mapping id -> Citation, {"url": ...} (as stored with
    messages), URL or (title, url). Code spans/blocks and citations that are already links are
    left untouched.
    """
    if "【" not in markdown_text:
        return markdown_text
    links: dict[int, str] = {}
    items = citations.items() if isinstance(citations, Mapping) else ((c.id, c) for c in citations)
    for key, value in items:
        url = safe_url(_url_of(value))
        if url is not None:
            title = " ".join(_title_of(value).replace("\\", "").replace('"', "'").split())
            links[int(key)] = f'{url} "{title}"' if title else url

    def link_in(segment: str) -> str:
        def replace(match: re.Match) -> str:
            target = links.get(int(match.group(1)))
            before, after = segment[: match.start()], segment[match.end():]
            if before.endswith("[") and after.startswith("]("):  # linked already
                return match.group(0)
            number = rf"\[{match.group(1)}\]"
            return number if target is None else f"[{number}]({target})"

        return _CITATION.sub(replace, segment)

    parts = _CODE.split(markdown_text)  # odd indexes are code: leave them alone
    return "".join(part if i % 2 else link_in(part) for i, part in enumerate(parts))


def _title_of(value: Any) -> str:
    if isinstance(value, Citation):
        return value.title
    if isinstance(value, Mapping):
        return str(value.get("title", ""))
    return str(value[0]) if isinstance(value, (tuple, list)) and len(value) > 1 else ""


def _url_of(value: Any) -> str:
    if isinstance(value, Citation):
        return value.url
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return str(value.get("url", ""))
    return str(value[1]) if isinstance(value, (tuple, list)) and len(value) > 1 else ""
