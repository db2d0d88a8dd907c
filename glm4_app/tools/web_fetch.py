"""Fetching one web page for the browser tool: safely, within limits, as readable text.

Safety (the model chooses the URLs, so every fetch is a potential SSRF):

* Only http and https. Redirects are followed by hand (at most ``MAX_REDIRECTS``) so that every
  hop goes through the same checks.
* The address check lives in the network backend, i.e. at the moment a socket is opened: the
  hostname is resolved once, EVERY resolved address must be public (or allowlisted), and the
  socket is then opened to one of exactly those checked addresses. There is no second DNS
  lookup between check and connect, which closes the DNS-rebinding window; TLS still verifies
  the certificate against the hostname (httpcore passes the hostname as SNI/server_hostname).
* One deadline (``timeout_s``) for the whole fetch including redirects, plus per-operation
  timeouts; the body is streamed and reading stops at ``max_bytes``.

Limits: getaddrinfo itself has no timeout (the caller bounds its wait instead); HTTP proxies are
not supported (a proxy would make the address check meaningless); a public host that is itself
an open proxy or redirector onto an internal network is out of reach of any client-side check.
"""

from __future__ import annotations

import codecs
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass

import httpcore
import httpx
from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

from glm4_app.notices import Notice, NoticeError

MAX_REDIRECTS = 5
USER_AGENT = "Mozilla/5.0 (compatible; glm4-app-browser/1.0)"
# Content types we turn into text; everything else is described, not dumped.
TEXT_KINDS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "application/json": "json",
}
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(NoticeError):
    """A page could not be opened: ``.notice`` says why, the model reads its English."""


class BlockedAddress(FetchError):
    pass


@dataclass(frozen=True)
class Page:
    url: str  # the final URL, after redirects
    title: str
    text: str
    truncated: bool = False  # the body was cut at max_bytes


# --- Which addresses may be fetched -----------------------------------------------------------

# Every special-purpose range of IANA's IPv4 and IPv6 registries, written out rather than
# taken from ``ipaddress.is_global``, whose answer changed between Python versions (3.11
# calls 192.0.0.0/24, 2002::/16 and fec0::/10 global). Deny by default: an IPv6 address
# outside 2000::/3, the only global unicast block, is refused too. Most specific first.
_DENIED: tuple[tuple[str, Notice], ...] = (
    ("0.0.0.0/8", Notice("address.unspecified")),
    ("10.0.0.0/8", Notice("address.private")),
    ("100.64.0.0/10", Notice("address.carrier_grade_nat")),  # also Alibaba Cloud's metadata service
    ("127.0.0.0/8", Notice("address.loopback")),
    ("169.254.0.0/16", Notice("address.link_local")),  # 169.254.169.254: the cloud metadata service
    ("172.16.0.0/12", Notice("address.private")),
    ("192.0.0.0/24", Notice("address.ietf_protocol")),  # 192.0.0.192: Oracle Cloud's metadata service
    ("192.0.2.0/24", Notice("address.documentation")),
    ("192.88.99.0/24", Notice("address.6to4_relay")),
    ("192.168.0.0/16", Notice("address.private")),
    ("198.18.0.0/15", Notice("address.benchmarking")),
    ("198.51.100.0/24", Notice("address.documentation")),
    ("203.0.113.0/24", Notice("address.documentation")),
    ("224.0.0.0/4", Notice("address.multicast")),
    ("240.0.0.0/4", Notice("address.reserved")),  # 255.255.255.255 included
    ("::/128", Notice("address.unspecified")),
    ("::1/128", Notice("address.loopback")),
    ("::/96", Notice("address.ipv4_compatible")),
    ("100::/64", Notice("address.discard")),
    ("64:ff9b:1::/48", Notice("address.local_use_nat64")),  # where it puts the IPv4 differs by network
    ("2001::/32", Notice("address.teredo")),  # embeds an IPv4 server and client: never fetched
    ("2001::/23", Notice("address.ietf_protocol")),
    ("2001:db8::/32", Notice("address.documentation")),
    ("2002::/16", Notice("address.6to4")),  # embeds any IPv4 address, 127.0.0.1 or 169.254.169.254 too
    ("3fff::/20", Notice("address.documentation")),
    ("5f00::/16", Notice("address.segment_routing")),
    ("fc00::/7", Notice("address.private")),
    ("fe80::/10", Notice("address.link_local")),
    ("fec0::/10", Notice("address.site_local")),
    ("ff00::/8", Notice("address.multicast")),
)
_DENIED_NETWORKS = tuple((ipaddress.ip_network(n), reason) for n, reason in _DENIED)
# NAT64 (IPv6-only networks): the well-known prefix's gateway forwards to the IPv4 address
# in the last 32 bits, which is checked instead; public sites reach users there through it.
# (The local-use 64:ff9b:1::/48 may embed the IPv4 at other bits: it is denied above.)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.ip_network("2000::/3")


def blocked_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Notice | None:
    """Why ``ip`` must not be fetched by default, or None when it is a public address."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return blocked_reason(ip.ipv4_mapped)
        if ip in _NAT64:
            return blocked_reason(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    for network, reason in _DENIED_NETWORKS:
        if ip.version == network.version and ip in network:
            return reason
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST:
        return Notice("address.reserved")
    return None


class AddressPolicy:
    """Blocks loopback, private, link-local, ... addresses unless the allowlist names them.

    ``allowlist`` is the comma-separated setting: hostnames (matched exactly, case-insensitive;
    all addresses they resolve to are then allowed) and IP addresses or CIDR ranges.
    """

    def __init__(self, allowlist: str = "") -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in (e.strip() for e in allowlist.split(",")):
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(_norm_host(entry))

    def check(self, host: str, ip: str) -> None:
        """Raise BlockedAddress when ``host``'s resolved address ``ip`` may not be fetched."""
        address = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 scope id
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
        if _norm_host(host) in self.hosts or any(address in n for n in self.networks):
            return
        reason = blocked_reason(address)
        if reason:
            shown = host if host == ip else f"{host} ({address})"
            raise BlockedAddress(Notice("fetch.blocked", host=shown, reason=reason))

    def resolve(self, host: str, port: int) -> list[str]:
        """All addresses of ``host``, after checking EVERY one (one bad address blocks all)."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FetchError(Notice("fetch.cannot_resolve", host=repr(host), error=exc)) from None
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        for ip in addresses:
            self.check(host, ip)
        return addresses


def _norm_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


class _GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, but a socket is only opened to an address the policy allowed."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        error: Exception | None = None
        for address in self._policy.resolve(host, port):
            try:  # connect to the checked literal address: no second DNS lookup
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        raise error or FetchError(Notice("fetch.no_address", host=host))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise BlockedAddress(Notice("fetch.unix_socket"))

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# --- Fetching ---------------------------------------------------------------------------------


class Fetcher:
    """Fetches pages under the policy and limits; safe to use from several threads."""

    def __init__(self, policy: AddressPolicy, timeout_s: float, max_bytes: int,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self._backend = _GuardedBackend(policy)
        self._ssl = ssl_context or httpx.create_ssl_context()  # certifi's CA bundle, like httpx

    def fetch(self, url: str, cancel: threading.Event | None = None) -> Page:
        """Fetch ``url`` and return it as text; raise FetchError with a readable reason."""
        cancel = cancel or threading.Event()
        deadline = time.monotonic() + self.timeout_s
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                target = httpx.URL(url.strip())
            except (httpx.InvalidURL, TypeError, ValueError) as exc:
                raise FetchError(Notice("fetch.invalid_url", url=repr(url), error=exc)) from None
            if target.scheme not in ("http", "https") or not target.host:
                raise FetchError(Notice("fetch.not_http", url=repr(url)))
            try:
                result = self._request(target, deadline, cancel)
            except httpcore.TimeoutException:
                raise FetchError(Notice("fetch.timed_out", seconds=f"{self.timeout_s:g}")) from None
            except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) \
                    as exc:  # TLS failures (certificate, host name) arrive as ConnectError
                error = f"{type(exc).__name__}: {exc}"
                raise FetchError(Notice("fetch.connection_failed", error=error)) from None
            if isinstance(result, Page):
                return result
            try:  # a redirect: the next hop goes through every check again
                url = str(target.join(result).copy_with(fragment=None))
            except (httpx.InvalidURL, ValueError) as exc:
                raise FetchError(Notice("fetch.invalid_redirect", location=repr(result), error=exc)) from None
        raise FetchError(Notice("fetch.too_many_redirects", limit=MAX_REDIRECTS))

    def _request(self, target: httpx.URL, deadline: float, cancel: threading.Event) -> Page | str:
        """One hop: a Page, or the Location of a redirect."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("deadline")
        timeouts = dict.fromkeys(("connect", "read", "write", "pool"), remaining)
        request_url = httpcore.URL(
            scheme=target.raw_scheme, host=target.raw_host, port=target.port, target=target.raw_path
        )
        headers = [
            (b"Host", target.netloc),
            (b"User-Agent", USER_AGENT.encode()),
            (b"Accept", b"text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"),
            (b"Accept-Encoding", b"identity"),
        ]
        # A fresh pool per hop: no connection is ever reused for another host name.
        pool = httpcore.ConnectionPool(ssl_context=self._ssl, network_backend=self._backend)
        stream = pool.stream("GET", request_url, headers=headers, extensions={"timeout": timeouts})
        with pool, stream as response:
            head = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
            if response.status in _REDIRECTS and head.get("location"):
                return head["location"]
            if not 200 <= response.status < 300:
                reason = response.extensions.get("reason_phrase", b"").decode("latin-1")
                raise FetchError(Notice("fetch.http_status", status=response.status, reason=reason))
            mime, charset = _content_type(head.get("content-type", ""))
            kind = TEXT_KINDS.get(mime)
            if kind is None and mime:  # described, never downloaded
                size = head.get("content-length", "")
                raise FetchError(Notice("fetch.not_text_sized", mime=mime, size=int(size))
                                 if size.isdigit() else Notice("fetch.not_text", mime=mime))
            body, truncated = self._read(response, head, deadline, cancel)
        return to_page(str(target), body, kind, charset, truncated)

    def _read(self, response, head: dict, deadline: float, cancel) -> tuple[bytes, bool]:
        """Stream the body, stopping at max_bytes (decoded), the deadline or cancel."""
        decoder = _decoder(head.get("content-encoding", "identity"))
        parts: list[bytes] = []
        size = 0
        for chunk in response.iter_stream():
            if cancel.is_set():
                raise FetchError(Notice("fetch.cancelled"))
            if time.monotonic() > deadline:  # a server dripping bytes never trips a read timeout
                raise httpcore.ReadTimeout("deadline")
            if decoder is not None:
                chunk = decoder.decompress(chunk, self.max_bytes - size + 1)
            parts.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                return b"".join(parts)[: self.max_bytes], True
        return b"".join(parts), False


def _decoder(encoding: str):
    """A bounded decompressor for servers that compress although we asked for identity."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise FetchError(Notice("fetch.bad_encoding", encoding=repr(encoding)))


def _content_type(value: str) -> tuple[str, str | None]:
    mime, _, params = value.partition(";")
    match = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", params, re.I)
    return mime.strip().lower(), match.group(1) if match else None


# --- Bytes to readable text -------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Browsers (WHATWG) decode these labels as supersets: GB2312 pages routinely contain GBK
# characters, "iso-8859-1" pages windows-1252 ones.
_ALIASES = {
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "gb_2312-80"), "gb18030"),
    **dict.fromkeys(("iso-8859-1", "latin1", "us-ascii", "ascii"), "cp1252"),
    "big5": "big5hkscs",
}
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.\-]+)", re.I)


def decode_body(body: bytes, header_charset: str | None, html: bool) -> str:
    """Bytes to str with browsers' precedence: BOM, HTTP header charset, <meta>, then UTF-8."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, "replace")
    meta = _META_CHARSET.search(body[:4096]) if html else None
    for label in (header_charset, meta.group(1).decode("ascii") if meta else None):
        if label:
            name = _ALIASES.get(label.lower(), label)
            try:
                return body.decode(codecs.lookup(name).name, "replace")
            except LookupError:
                continue  # an unknown label: try the next source
    return body.decode("utf-8", "replace")


def to_page(url: str, body: bytes, kind: str | None, charset: str | None, truncated: bool
            ) -> Page:
    if kind is None:  # no Content-Type: sniff
        kind = "html" if re.match(rb"\s*<(!doctype|html|head|body)", body[:512], re.I) else "text"
        if b"\x00" in body[:1024] and kind == "text":
            raise FetchError(Notice("fetch.binary"))
    text = decode_body(body, charset, kind == "html")
    fallback_title = url.rstrip("/").rsplit("/", 1)[-1] or url
    if kind == "html":
        title, text, cut = readable_html(text)
        return Page(url, title or fallback_title, text, truncated or cut)
    if kind == "json" and not truncated:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        except ValueError:
            pass
    return Page(url, fallback_title, text.strip(), truncated)


# Never content: code, styling, navigation chrome, form controls. Not <form> (ASP.NET wraps
# whole pages in one) and not <head> (a missing </head> would swallow the page); <title> is
# taken separately.
_DROP = {
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "title", "nav", "footer", "aside", "button", "select", "textarea", "input", "dialog",
}
# Parsing costs ~2 s per MB of dense markup here. The bulky parts that are never text go first
# (one linear scan), then at most PARSE_CHARS are parsed: far more text than a page's share of
# the observation, and than a document needs (uploaded HTML goes through the same caps).
_NOISE_OPEN = re.compile(r"<(script|style|svg|noscript|template)\b|<!--", re.I)
_NOISE_CLOSE = {
    name: re.compile(rf"</{name}\s*>", re.I)
    for name in ("script", "style", "svg", "noscript", "template")
}
PARSE_CHARS = 1_000_000


def strip_noise(html: str) -> str:
    """``html`` without scripts, styles, SVG, templates and comments, in time linear in its
    length (a lazy ``.*?`` regex rescans the rest of the page for every unclosed ``<script``:
    minutes for a few hundred KB). An unclosed one swallows the rest, as in a browser."""
    kept, position = [], 0
    while True:
        opening = _NOISE_OPEN.search(html, position)
        if opening is None:
            kept.append(html[position:])
            break
        kept.append(html[position : opening.start()])
        kept.append(" ")
        if opening.group(1):
            closing = _NOISE_CLOSE[opening.group(1).lower()].search(html, opening.end())
            end = closing.end() if closing else -1
        else:
            end = html.find("-->", opening.end())
            end = end + 3 if end >= 0 else -1
        if end < 0:
            break
        position = end
    return "".join(kept)


def readable_html(html: str) -> tuple[str, str, bool]:
    """(title, text, cut): the page as text, of which at most PARSE_CHARS were parsed."""
    html = strip_noise(html)
    title, text = html_to_text(html[:PARSE_CHARS])
    return title, text, len(html) > PARSE_CHARS
_BLOCK = {
    "p", "div", "section", "article", "main", "header", "blockquote", "address", "figure",
    "figcaption", "dl", "dt", "dd", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr",
    "caption", "pre", "hr", "details", "summary", "center", "body", "html",
    "h1", "h2", "h3", "h4", "h5", "h6",
}


def _hidden(node: Tag) -> bool:
    return (
        node.has_attr("hidden")
        or node.get("aria-hidden") == "true"
        or node.get("role") in ("navigation", "contentinfo")  # nav and footer by another name
    )


def _is_heading(name: str) -> bool:
    return len(name) == 2 and name[0] == "h" and name[1].isdigit()


class _Close:
    def __init__(self, tag: Tag) -> None:
        self.tag = tag


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text): headings as ``#`` lines, list items as ``- ``, table rows as ``a | b``."""
    soup = BeautifulSoup(html, "html.parser")
    title = " ".join((soup.title.get_text() if soup.title else "").split())
    lines: list[str] = []
    current: list[str] = []

    def end_line(blank: bool = False) -> None:
        line = " ".join("".join(current).split())
        current.clear()
        if line:
            lines.append(line)
        if blank and lines and lines[-1]:
            lines.append("")

    # An explicit stack instead of recursion: deeply nested pages must not hit RecursionError.
    stack: list = list(reversed(soup.contents))
    while stack:
        node = stack.pop()
        if isinstance(node, _Close):
            if node.tag.name in _BLOCK:
                end_line(blank=_is_heading(node.tag.name) or node.tag.name in ("p", "table"))
        elif isinstance(node, Tag):
            name = node.name
            if name in _DROP or _hidden(node):
                continue
            if name == "br":
                end_line()
                continue
            if name in ("td", "th") and "".join(current).strip():
                current.append(" | ")
            if name in _BLOCK:
                end_line(blank=_is_heading(name) or name == "pre")
                if _is_heading(name):
                    current.append("#" * int(name[1]) + " ")
                elif name == "li":
                    current.append("- ")
                elif name == "pre":  # keep the layout of code and preformatted text
                    lines.extend(node.get_text().strip("\n").splitlines())
                    lines.append("")
                    continue
            stack.append(_Close(node))
            stack.extend(reversed(node.contents))
        elif isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
            current.append(str(node))  # PreformattedString: comments, doctype, CDATA
    end_line()
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not title:
        h1 = soup.find("h1")
        title = " ".join(h1.get_text().split()) if h1 else ""
    return title[:200], text
