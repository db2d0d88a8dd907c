"""Web search providers for the browser tool: SearXNG (self-hosted) and the Brave Search API.

The search endpoint comes from the operator's settings, not from the model, so it is trusted:
it may live on a private network (a SearXNG container beside the app) and is not subject to the
browser's address policy. Redirects are not followed and the response size is capped.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass

import httpx

from glm4_app.notices import Notice, NoticeError
from glm4_app.settings import Settings

BRAVE_URL = "https://api.search.brave.com/res/v1/web/search"
MAX_RESULTS = 10
SNIPPET_CHARS = 400


class SearchError(NoticeError):
    """The search failed: ``.notice`` says why, the model reads its English."""


@dataclass(frozen=True)
class SearchHit:
    title: str
    url: str
    snippet: str


def not_configured_reason(settings: Settings) -> Notice | None:
    """Why search cannot be used with these settings (the model reads it in English too),
    or None when it can."""
    provider = settings.search_provider
    if not provider:
        return Notice("search.no_provider")
    if provider == "searxng" and not settings.search_url:
        return Notice("search.no_searxng_url")
    if provider == "brave" and not settings.search_api_key:
        return Notice("search.no_brave_key")
    if provider not in ("searxng", "brave"):
        return Notice("search.unknown_provider", provider=provider)
    return None


def search(settings: Settings, query: str, recency_days: int | None = None) -> list[SearchHit]:
    """Up to MAX_RESULTS hits for ``query``; raise SearchError with a readable reason."""
    reason = not_configured_reason(settings)
    if reason:
        raise SearchError(reason)
    if settings.search_provider == "searxng":
        base = settings.search_url.rstrip("/")
        url = base if base.endswith("/search") else base + "/search"
        params = {"q": query, "format": "json"}
        if recency_days:
            params["time_range"] = _searxng_range(recency_days)
        data = _get_json(settings, url, params, {})
        items = data.get("results") if isinstance(data, dict) else None
        fields = ("title", "url", "content")
    else:
        params = {"q": query, "count": str(MAX_RESULTS)}
        if recency_days:
            params["freshness"] = _brave_freshness(recency_days)
        headers = {"X-Subscription-Token": settings.search_api_key}
        data = _get_json(settings, settings.search_url or BRAVE_URL, params, headers)
        web = data.get("web") if isinstance(data, dict) else None
        items = web.get("results", []) if isinstance(web, dict) else []
        fields = ("title", "url", "description")
    if not isinstance(items, list):
        raise SearchError(Notice("search.no_list"))
    hits = []
    for item in items:
        if not isinstance(item, dict):
            continue
        title, url, snippet = (item.get(f) for f in fields)
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            hits.append(SearchHit(_clean(title) or url, url, _clean(snippet)[:SNIPPET_CHARS]))
        if len(hits) == MAX_RESULTS:
            break
    return hits


def _get_json(settings: Settings, url: str, params: dict, headers: dict):
    headers = {"Accept": "application/json", "User-Agent": "glm4-app", **headers}
    try:
        # trust_env=False: no proxy from the environment, the same as page fetches.
        with httpx.Client(timeout=settings.browser_timeout_s, trust_env=False) as client:
            with client.stream("GET", url, params=params, headers=headers) as response:
                if response.status_code != 200:
                    status = f"{response.status_code} {response.reason_phrase}".rstrip()
                    raise SearchError(Notice("search.http_status", status=status))
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > settings.browser_max_bytes:
                        raise SearchError(Notice("search.too_large"))
    except httpx.TimeoutException:
        seconds = f"{settings.browser_timeout_s:g}"
        raise SearchError(Notice("search.timed_out", seconds=seconds)) from None
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
        raise SearchError(Notice("search.unreachable", error=error)) from None
    try:
        return json.loads(bytes(body))
    except ValueError:
        # SearXNG answers HTML unless its settings allow json: the notice asks about it
        raise SearchError(Notice("search.not_json")) from None


def _searxng_range(days: int) -> str:
    # SearXNG knows only these ranges; round up so nothing recent is excluded.
    return "day" if days <= 1 else "week" if days <= 7 else "month" if days <= 31 else "year"


def _brave_freshness(days: int) -> str:
    for limit, code in ((1, "pd"), (7, "pw"), (31, "pm"), (365, "py")):
        if days <= limit:
            return code
    today = dt.date.today()
    return f"{today - dt.timedelta(days=days)}to{today}"  # Brave's custom range syntax


def _clean(value) -> str:
    """Plain one-line text: providers put <strong> and entities into titles and snippets."""
    if not isinstance(value, str):
        return ""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", value)).split())
