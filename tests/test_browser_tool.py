"""The simple_browser tool against real HTTP servers on 127.0.0.1 (no internet needed).

One threaded http.server plays every part: a SearXNG JSON endpoint, a Brave-like endpoint,
and the pages (scripts to strip, redirects, huge, slow, 404, binary, GBK). 127.0.0.1 is
allowlisted where a test needs to reach it; that it is refused otherwise is a test too.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from glm4_app.settings import Settings
from glm4_app.tools.base import Citation, ToolCall
from glm4_app.tools.browser import BrowserTool, CommandError, link_citations, parse_commands
from glm4_app.tools.web_fetch import (
    AddressPolicy,
    BlockedAddress,
    FetchError,
    Fetcher,
    html_to_text,
)

pytestmark = pytest.mark.timeout(60)

ARTICLE = """<!doctype html><html><head><title>Apple Inc. annual report</title>
<style>.x { color: red }</style><script>var secret = "SCRIPT-TEXT";</script></head>
<body><nav><a href="/">NAV-TEXT home</a></nav>
<h1>Annual report</h1><p>Revenue grew <b>8%</b> to $383 billion.</p>
<ul><li>iPhone</li><li>Services</li></ul>
<table><tr><th>Year</th><th>Revenue</th></tr><tr><td>2023</td><td>383</td></tr></table>
<div hidden>HIDDEN-TEXT</div><noscript>NOSCRIPT-TEXT</noscript>
<footer>FOOTER-TEXT copyright</footer><script>track("SCRIPT2")</script></body></html>"""
CHINESE = "<html><head>{meta}<title>测试页面</title></head><body><p>中文网页：镕金，堃。</p></body></html>"
HUGE_TOTAL = 50_000_000


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        url = urlsplit(self.path)
        self.server.requests.append((url.path, parse_qs(url.query), dict(self.headers)))
        route = getattr(self, "route_" + url.path.strip("/").split("/")[0].replace("-", "_"), None)
        if route is None:
            return self.send(404, b"<h1>Not found</h1>", "text/html")
        route(url)

    def send(self, status, body: bytes, ctype: str, **headers):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location):
        self.send(302, b"", "text/plain", Location=location)

    # -- search providers --
    def route_searxng(self, url):
        base = self.server.base
        results = [
            {"title": "Apple <b>annual</b> report", "url": f"{base}/article",
             "content": "Revenue &amp; more"},
            {"title": "中文", "url": f"{base}/gbk-meta", "content": "中文网页"},
            {"title": "Gone", "url": f"{base}/missing", "content": "404"},
            {"title": "Plain", "url": f"{base}/plain", "content": "text"},
            {"title": "Not a web page", "url": "ftp://example.org/x", "content": "skipped"},
        ]
        self.send(200, json.dumps({"query": "q", "results": results}).encode(), "application/json")

    def route_brave(self, url):
        if self.headers.get("X-Subscription-Token") != "brave-key":
            return self.send(401, b'{"error": "bad key"}', "application/json")
        hit = {"title": "Brave <strong>hit</strong>", "url": f"{self.server.base}/article",
               "description": "A <strong>bold</strong> snippet"}
        web = {"results": [hit]}
        self.send(200, json.dumps({"type": "search", "web": web}).encode(), "application/json")

    def route_search_500(self, url):
        self.send(500, b"oops", "text/plain")

    def route_search_html(self, url):
        self.send(200, b"<html>no json here</html>", "text/html")

    # -- pages --
    def route_article(self, url):
        self.send(200, ARTICLE.encode(), "text/html; charset=utf-8")

    def route_plain(self, url):
        self.send(200, b"Just plain text.\nSecond line.", "text/plain")

    def route_json(self, url):
        self.send(200, b'{"answer": 42, "name": "\\u4e2d"}', "application/json")

    def route_gbk_meta(self, url):  # charset only in <meta>
        self.send(200, CHINESE.format(meta='<meta charset="gbk">').encode("gbk"), "text/html")

    def route_gbk_header(self, url):  # charset only in the header
        self.send(200, CHINESE.format(meta="").encode("gbk"), "text/html; charset=GBK")

    def route_gb2312_http_equiv(self, url):  # "gb2312" label, but GBK-only characters (镕, 堃)
        meta = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        self.send(200, CHINESE.format(meta=meta).encode("gbk"), "text/html")

    def route_utf8_undeclared(self, url):
        self.send(200, CHINESE.format(meta="").encode("utf-8"), "text/html")

    def route_gzip(self, url):  # compressed although the client asked for identity
        self.send(200, gzip.compress(ARTICLE.encode()), "text/html", Content_Encoding="gzip")

    def route_binary(self, url):
        self.send(200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "image/png")

    def route_slow(self, url):
        time.sleep(3)
        self.send(200, b"<p>too late</p>", "text/html")

    def route_drip(self, url):  # every byte on time, the whole page never
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        try:
            for _ in range(40):
                self.wfile.write(b"<p>drip</p>")
                self.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    def route_huge(self, url):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        chunk = b"<p>" + b"x" * 65_530 + b"</p>\n"
        try:
            while self.server.huge_sent < HUGE_TOTAL:
                self.wfile.write(chunk)
                self.server.huge_sent += len(chunk)
        except OSError:
            pass  # the client stopped reading: what we want

    def route_redirect(self, url):  # /redirect/N: N more hops, then the article
        hops = int(url.path.rsplit("/", 1)[1])
        self.redirect(f"/redirect/{hops - 1}" if hops > 1 else "/article#section")

    def route_to_metadata(self, url):
        self.redirect("http://169.254.169.254/latest/meta-data/")

    def route_to_private(self, url):
        self.redirect("http://10.0.0.1/admin")

    def route_to_file(self, url):
        self.redirect("file:///etc/passwd")

    def route_loop(self, url):
        self.redirect("/loop")


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.requests, httpd.huge_sent = [], 0
    httpd.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def make_tool(server, **changes) -> BrowserTool:
    settings = dict(search_provider="searxng", search_url=f"{server.base}/searxng",
                    browser_allowlist="127.0.0.1", browser_timeout_s=5)
    return BrowserTool(Settings(**(settings | changes)))


def run(tool: BrowserTool, body: str, cancel: threading.Event | None = None):
    return tool.run(ToolCall("simple_browser", body), cancel or threading.Event())


def requests_to(server, path):
    return [r for r in server.requests if r[0] == path]


# --- Commands ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, expected",
    [
        ('search("apple revenue", recency_days=365)', [("search", ("apple revenue", 365))]),
        ("search('apple revenue', recency_days=365)", [("search", ("apple revenue", 365))]),
        ('search("apple revenue")', [("search", ("apple revenue", None))]),
        ("search('it\\'s', 30)", [("search", ("it's", 30))]),
        ('search(query="x", recency_days="7")', [("search", ("x", 7))]),
        ("mclick([1, 4, 9])", [("mclick", ((1, 4, 9),))]),
        ("mclick(ids=(2,))", [("mclick", ((2,),))]),
        ("mclick(3)", [("mclick", ((3,),))]),
        ("open_url('https://example.org/a?b=1')", [("open_url", ("https://example.org/a?b=1",))]),
        ('open_url("example.org")', [("open_url", ("https://example.org",))]),
        ('simple_browser.search("x")', [("search", ("x", None))]),
        ('```\nsearch("a");\nmclick([0, 1])\n```',
         [("search", ("a", None)), ("mclick", ((0, 1),))]),
    ],
    ids=["double-quotes", "single-quotes", "no-recency", "escaped-quote", "keywords",
         "mclick", "mclick-tuple-kw", "mclick-single-int", "open-url", "open-url-no-scheme",
         "module-prefix", "fenced-two-lines"],
)
def test_parse_commands(body, expected):
    assert [(c.name, c.args) for c in parse_commands(body)] == expected


MALFORMED = {
    "empty": "",
    "unbalanced": 'search("apple"',
    "unknown-command": 'delete("everything")',
    "no-arguments": "search()",
    "number-query": "search(123)",
    "bool-recency": 'search("a", recency_days=True)',
    "unknown-keyword": 'search("a", days=3)',
    "too-many-args": 'open_url("a", "b")',
    "star-args": "search(*q)",
    "name-not-literal": "search(query)",
    "string-ids": "mclick(['a'])",
    "empty-ids": "mclick([])",
    "prose": "Let me search for that.",
    "too-many-lines": "\n".join(['search("a")'] * 6),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_commands_are_errors_with_usage(server, body):
    result = run(make_tool(server), body)
    assert result.is_error
    assert "Valid simple_browser commands" in result.text
    with pytest.raises(CommandError):
        parse_commands(body)


def test_commands_are_never_evaluated(server, tmp_path):
    marker = tmp_path / "pwned"
    result = run(make_tool(server), f"__import__('os').system('touch {marker}')")
    assert result.is_error and not marker.exists()
    result = run(make_tool(server), f"search(__import__('os').system('touch {marker}'))")
    assert result.is_error and not marker.exists()


# --- Search -----------------------------------------------------------------------------------


def test_searxng_search(server):
    tool = make_tool(server)
    result = run(tool, 'search("apple revenue", recency_days=7)')
    assert not result.is_error and result.metadata == "browser_result"
    assert result.text.startswith(
        " # 【0†Apple annual report†127.0.0.1】\nRevenue & more\n\n # 【1†中文†127.0.0.1】\n中文网页"
    )
    assert "ftp://" not in result.text and "【4†" not in result.text  # non-http hit dropped
    assert [(c.id, c.title) for c in result.citations] == [
        (0, "Apple annual report"), (1, "中文"), (2, "Gone"), (3, "Plain")
    ]
    _, query, _ = requests_to(server, "/searxng/search")[-1]
    assert query == {"q": ["apple revenue"], "format": ["json"], "time_range": ["week"]}
    # result ids continue across searches of the same conversation
    again = run(tool, "search('more')")
    assert again.citations[0].id == 4
    assert "time_range" not in requests_to(server, "/searxng/search")[-1][1]


def test_brave_search_sends_key(server):
    tool = make_tool(server, search_provider="brave", search_url=f"{server.base}/brave",
                     search_api_key="brave-key")
    result = run(tool, 'search("apple", recency_days=1)')
    assert not result.is_error
    assert result.text == " # 【0†Brave hit†127.0.0.1】\nA bold snippet"
    _, query, headers = requests_to(server, "/brave")[-1]
    assert headers["X-Subscription-Token"] == "brave-key"
    assert query == {"q": ["apple"], "count": ["10"], "freshness": ["pd"]}


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"search_provider": ""}, "not configured"),
        ({"search_provider": "brave", "search_api_key": ""}, "SEARCH_API_KEY"),
        ({"search_url": "{base}/search-500"}, "HTTP 500"),
        ({"search_url": "{base}/search-html"}, "did not answer JSON"),
        ({"search_provider": "brave", "search_url": "{base}/brave", "search_api_key": "wrong"},
         "HTTP 401"),
        ({"search_url": "http://127.0.0.1:{closed}"}, "cannot reach"),
    ],
    ids=["no-provider", "brave-no-key", "http-500", "not-json", "brave-bad-key", "unreachable"],
)
def test_search_failures_are_reported(server, changes, expected):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    changes = {k: v.format(base=server.base, closed=closed) for k, v in changes.items()}
    result = run(make_tool(server, **changes), 'search("x")')
    assert result.is_error and expected in result.text
    assert result.metadata == "browser_result"


def test_search_available(server):
    assert make_tool(server).search_available
    assert not make_tool(server, search_provider="").search_available
    assert make_tool(server).declaration() == {"type": "simple_browser"}


# --- Opening pages ----------------------------------------------------------------------------


def test_mclick_reads_pages_and_continues_the_counter(server):
    tool = make_tool(server)
    run(tool, 'search("apple")')  # ids 0-3
    result = run(tool, "mclick([0, 1])")
    assert not result.is_error
    assert result.metadata == "quote_result [4†source] [5†source]"
    assert [(c.id, c.title, c.url) for c in result.citations] == [
        (4, "Apple Inc. annual report", f"{server.base}/article"),
        (5, "测试页面", f"{server.base}/gbk-meta"),
    ]
    first, second = result.text.split("\n\n【5†")
    header = f"【4†Apple Inc. annual report†127.0.0.1】\n{server.base}/article\n"
    assert first.startswith(header + "# Annual report\n\nRevenue grew 8% to $383 billion.")
    for kept in ("- iPhone\n- Services", "Year | Revenue\n2023 | 383"):
        assert kept in first
    for dropped in ("SCRIPT", "NAV-TEXT", "FOOTER-TEXT", "HIDDEN-TEXT", "NOSCRIPT", "color: red"):
        assert dropped not in first
    assert "中文网页：镕金，堃。" in second
    # the next call continues where this one stopped; a failed page gets no id
    later = run(tool, "mclick([2, 3])")
    assert later.metadata == "quote_result [6†source]"
    assert later.text.startswith("【6†plain†127.0.0.1】") and "Just plain text." in later.text
    assert f"Could not open [2] {server.base}/missing: HTTP 404 Not Found." in later.text
    assert {c.id: c.url for c in tool.citations()}[6] == f"{server.base}/plain"


def test_mclick_unknown_ids(server):
    tool = make_tool(server)
    result = run(tool, "mclick([0, 1])")
    assert result.is_error and "Unknown ids (not in any search result): [0, 1]" in result.text
    run(tool, 'search("a")')
    result = run(tool, "mclick([3, 99])")
    assert not result.is_error and "Unknown ids (not in any search result): [99]" in result.text


def test_open_url_follows_redirects(server):
    result = run(make_tool(server), f'open_url("{server.base}/redirect/4")')
    assert not result.is_error and result.metadata == "quote_result [0†source]"
    assert result.citations == (Citation(0, "Apple Inc. annual report", f"{server.base}/article"),)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/to-metadata", "169.254.169.254: link-local addresses are blocked"),
        ("/to-private", "10.0.0.1: private addresses are blocked"),
        ("/to-file", "only http:// and https://"),
        ("/loop", "more than 5 redirects"),
        ("/redirect/6", "more than 5 redirects"),
        ("/missing", "HTTP 404"),
        ("/binary", "not a text page (image/png, 10,248 bytes)"),
    ],
    ids=["redirect-to-metadata", "redirect-to-private", "redirect-to-file", "redirect-loop",
         "too-many-redirects", "404", "binary"],
)
def test_pages_that_fail_are_reported(server, path, expected):
    # 127.0.0.1 is allowlisted, so each hop's target is what gets refused
    result = run(make_tool(server), f"open_url('{server.base}{path}')")
    assert result.is_error and result.metadata == "browser_result" and not result.citations
    assert expected in result.text and "Could not open" in result.text
    assert "\x89PNG" not in result.text


@pytest.mark.parametrize(
    "url, expected",
    [
        ("{base}/article", "127.0.0.1: loopback addresses are blocked"),
        ("http://localhost:{port}/", "localhost (127.0.0.1|::1): loopback addresses are blocked"),
        ("http://[::1]:{port}/", "::1: loopback addresses are blocked"),
        ("http://0.0.0.0:{port}/", "0.0.0.0: unspecified addresses are blocked"),
        ("http://169.254.169.254/latest/meta-data/", "link-local addresses are blocked"),
        ("file:///etc/passwd", "only http:// and https://"),
        ("gopher://127.0.0.1/", "only http:// and https://"),
    ],
    ids=["loopback-ip", "localhost", "ipv6-loopback", "unspecified", "metadata", "file", "gopher"],
)
def test_blocked_without_allowlist(server, url, expected):
    tool = make_tool(server, browser_allowlist="")
    url = url.format(base=server.base, port=server.server_address[1])
    before = len(server.requests)
    result = run(tool, f'open_url("{url}")')
    assert result.is_error and re.search(re.escape(expected).replace(r"\|", "|"), result.text)
    assert len(server.requests) == before  # refused before connecting


def test_allowlist_by_hostname(server):
    tool = make_tool(server, browser_allowlist="LOCALHOST")
    result = run(tool, f'open_url("http://localhost:{server.server_address[1]}/plain")')
    assert not result.is_error and "Just plain text." in result.text


@pytest.mark.parametrize(
    "address, blocked",
    [("8.8.8.8", None), ("2606:4700::1111", None), ("2001:4860:4860::8888", None),
     ("192.0.1.1", None), ("64:ff9b::808:808", None),
     ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.5.4", "private"),
     ("192.168.1.1", "private"), ("169.254.169.254", "link-local"),
     ("100.100.100.200", "carrier-grade NAT"), ("100.64.0.1", "carrier-grade NAT"),
     ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"),
     ("192.0.0.192", "IETF protocol"),  # Oracle Cloud's metadata service
     ("192.0.0.9", "IETF protocol"), ("192.0.2.1", "documentation"),
     ("192.88.99.1", "6to4 relay"), ("198.18.0.1", "benchmarking"),
     ("198.19.255.255", "benchmarking"), ("203.0.113.7", "documentation"),
     ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("240.0.0.1", "reserved"),
     ("255.255.255.255", "reserved"),
     ("::", "unspecified"), ("::1", "loopback"), ("::127.0.0.1", "IPv4-compatible"),
     ("fd00::1", "private"), ("fc00::1", "private"), ("fe80::1%eth0", "link-local"),
     ("fec0::1", "site-local"), ("feff::1", "site-local"), ("ff02::1", "multicast"),
     ("::ffff:10.0.0.1", "private"), ("::ffff:169.254.169.254", "link-local"),
     ("64:ff9b::a00:1", "private"), ("64:ff9b::7f00:1", "loopback"),
     ("64:ff9b::a9fe:a9fe", "link-local"), ("64:ff9b::c000:c0", "IETF protocol"),
     # RFC 6052 puts 127.0.0.1 at bits 48-87 of a /48 prefix: its last 32 bits say nothing
     ("64:ff9b:1:7f00:0:100:808:808", "local-use NAT64"), ("64:ff9b:1::808:808", "local-use NAT64"),
     ("2002:7f00:1::1", "6to4"), ("2002:a9fe:a9fe::1", "6to4"), ("2002:808:808::1", "6to4"),
     ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"), ("2001:2::1", "IETF protocol"),
     ("2001:db8::1", "documentation"), ("3fff::1", "documentation"), ("100::1", "discard"),
     ("5f00::1", "segment routing"), ("4000::1", "reserved"), ("::2", "IPv4-compatible")],
    ids=lambda value: str(value),
)
def test_address_policy(address, blocked):
    """Every special-purpose range, decided by the app's own table: the same on every Python
    (3.11's ipaddress calls 192.0.0.0/24, 2002::/16 and fec0::/10 global)."""
    policy = AddressPolicy("")
    if blocked is None:
        policy.check("host.test", address)
    else:
        with pytest.raises(BlockedAddress, match=f": {blocked} addresses are blocked"):
            policy.check("host.test", address)


def test_allowlist_entries():
    policy = AddressPolicy(" 10.1.0.0/16, intranet.test ,::1 ")
    policy.check("x", "10.1.200.3")
    policy.check("x", "::ffff:10.1.0.1")  # mapped addresses match their IPv4 range
    policy.check("Intranet.Test.", "192.168.0.9")  # a named host may resolve to anything
    policy.check("x", "::1")
    for address in ("10.2.0.1", "127.0.0.1", "169.254.169.254"):
        with pytest.raises(BlockedAddress):
            policy.check("x", address)


class FakeDNS:
    """Answers for *.test names; counts lookups; anything else goes to the real resolver."""

    def __init__(self, monkeypatch, answers: dict[str, list[list[str]]]):
        self.answers, self.lookups = answers, []
        real = socket.getaddrinfo

        def getaddrinfo(host, port, *args, **kwargs):
            if host not in self.answers:
                return real(host, port, *args, **kwargs)
            self.lookups.append(host)
            ips = self.answers[host][min(len(self.lookups), len(self.answers[host])) - 1]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ips]

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_every_resolved_address_is_checked(server, monkeypatch):
    dns = FakeDNS(monkeypatch, {"mixed.test": [["127.0.0.1", "10.0.0.1"]]})
    port = server.server_address[1]
    result = run(make_tool(server), f'open_url("http://mixed.test:{port}/article")')
    assert result.is_error and "mixed.test (10.0.0.1): private addresses are blocked" in result.text
    assert dns.lookups == ["mixed.test"]


def test_connects_to_the_checked_address(server, monkeypatch):
    # The first answer is allowed; a later lookup would point into the private network
    # (DNS rebinding). The tool must connect to the address it checked, without a second lookup.
    dns = FakeDNS(monkeypatch, {"rebind.test": [["127.0.0.1"], ["10.0.0.1"]]})
    port = server.server_address[1]
    result = run(make_tool(server), f'open_url("http://rebind.test:{port}/plain")')
    assert not result.is_error and "Just plain text." in result.text
    assert dns.lookups == ["rebind.test"]
    assert requests_to(server, "/plain")[-1][2]["Host"] == f"rebind.test:{port}"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_https_to_the_checked_address_still_verifies_the_host_name(server, monkeypatch, tmp_path):
    # A certificate for tls.test only; both names resolve (fake DNS) to the same 127.0.0.1.
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", key, "-out", cert, "-subj", "/CN=tls.test",
                    "-addext", "subjectAltName=DNS:tls.test"], check=True, capture_output=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads, httpd.requests, httpd.base = True, [], "https://tls.test"
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(cert, key)
    httpd.socket = server_side.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        FakeDNS(monkeypatch, {"tls.test": [["127.0.0.1"]], "other.test": [["127.0.0.1"]]})
        port = httpd.server_address[1]
        trusting = ssl.create_default_context(cafile=cert)
        fetcher = Fetcher(AddressPolicy("127.0.0.1"), 5, 100_000, ssl_context=trusting)
        page = fetcher.fetch(f"https://tls.test:{port}/plain")
        assert page.text == "Just plain text.\nSecond line."
        with pytest.raises(FetchError, match="certificate verify failed: Hostname mismatch"):
            fetcher.fetch(f"https://other.test:{port}/plain")  # same address, wrong name
    finally:
        httpd.shutdown()
        httpd.server_close()


# --- Limits -----------------------------------------------------------------------------------


def test_huge_page_is_capped(server):
    server.huge_sent = 0
    settings = make_tool(server).settings.with_(browser_max_bytes=200_000)
    tool = BrowserTool(settings, page_chars=10**7)
    started = time.monotonic()
    result = run(tool, f"open_url('{server.base}/huge')")
    assert not result.is_error and result.text.endswith("…(page truncated)")
    assert 150_000 < len(result.text) < 210_000
    assert time.monotonic() - started < 5
    time.sleep(0.5)  # let the server notice the closed connection
    assert server.huge_sent < HUGE_TOTAL


@pytest.mark.parametrize("path", ["/slow", "/drip"], ids=["slow-headers", "drip-body"])
def test_slow_page_times_out(server, path):
    tool = make_tool(server, browser_timeout_s=1)
    started = time.monotonic()
    result = run(tool, f"open_url('{server.base}{path}')")
    assert result.is_error and "timed out after 1 s" in result.text
    assert time.monotonic() - started < 2.5


def test_cancel_returns_promptly(server):
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    result = run(make_tool(server), f"open_url('{server.base}/slow')", cancel)
    assert result.is_error and "cancelled" in result.text
    assert time.monotonic() - started < 1.5


def test_page_text_is_capped_per_page(server):
    tool = BrowserTool(make_tool(server).settings, page_chars=40)
    result = run(tool, f"open_url('{server.base}/article')")
    body = result.text.split("\n", 2)[2]
    assert body == "# Annual report\n\nRevenue grew 8% to $383\n…(page truncated)"


# --- Content types and charsets ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/gbk-meta", "/gbk-header", "/gb2312-http-equiv", "/utf8-undeclared"]
)
def test_chinese_charsets(server, path):
    result = run(make_tool(server), f"open_url('{server.base}{path}')")
    assert not result.is_error
    assert result.citations[0].title == "测试页面"
    assert result.text.endswith("\n中文网页：镕金，堃。")


@pytest.mark.parametrize(
    "path, expected",
    [("/plain", "Just plain text.\nSecond line."),
     ("/json", '{\n  "answer": 42,\n  "name": "中"\n}'),
     ("/gzip", "Revenue grew 8% to $383 billion.")],
    ids=["plain", "json", "gzip-despite-identity"],
)
def test_other_text_types(server, path, expected):
    result = run(make_tool(server), f"open_url('{server.base}{path}')")
    assert not result.is_error and expected in result.text


@pytest.mark.parametrize(
    "html, expected",
    [
        ("<div>" * 20_000 + "deep" + "</div>" * 20_000, ("", "deep")),
        ("<html><head><title>T</title><body><p>no closing head", ("T", "no closing head")),
        ('<form action=/x><p>whole page in a form</p><input value="v"><button>Go</button></form>',
         ("", "whole page in a form")),
        ("<div role=navigation>menu</div><div aria-hidden=true>icon</div><p>body <br>next</p>",
         ("", "body\nnext")),
        ("<h2>Sub <i>title</i></h2><pre>a  =  1\n  b</pre><ol><li>x<li>y</ol>",
         ("", "## Sub title\n\na  =  1\n  b\n\n- x\n- y")),
    ],
    ids=["deep-nesting", "no-closing-head", "form-wrapper", "roles-and-br", "heading-pre-list"],
)
def test_html_to_text(html, expected):
    assert html_to_text(html) == expected


# --- Conversation state and robustness --------------------------------------------------------


def test_reset_restarts_or_resumes_numbering(server):
    tool = make_tool(server)
    run(tool, 'search("a")')
    tool.reset()
    assert run(tool, 'search("a")').citations[0].id == 0
    tool.reset([Citation(7, "old page", f"{server.base}/plain")])  # a conversation reopened
    assert run(tool, "mclick([7])").metadata == "quote_result [8†source]"
    assert run(tool, 'search("a")').citations[0].id == 9


def test_several_commands_in_one_call(server):
    result = run(make_tool(server), f'search("a")\nopen_url("{server.base}/plain")')
    assert result.text.startswith(" # 【0†") and "【4†plain†127.0.0.1】" in result.text
    assert result.metadata == "quote_result [4†source]" and not result.is_error


def test_run_never_raises(server, monkeypatch):
    tool = make_tool(server)
    monkeypatch.setattr(tool, "_open_url", lambda *a, **k: 1 / 0)
    result = run(tool, "open_url('https://example.org')")
    assert result.is_error and "ZeroDivisionError" in result.text


# --- Citations --------------------------------------------------------------------------------

CITES = [
    Citation(3, "Apple", "https://apple.example/report"),
    Citation(4, "Paren", "https://x.example/a (b)"),
    Citation(5, "Bad", "javascript:alert(1)"),
]
APPLE = "https://apple.example/report"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Revenue grew【3†Apple Inc.】.", f'Revenue grew[\\[3\\]]({APPLE} "Apple").'),
        ("See 【9†unknown】", "See \\[9\\]"),
        ("【3†a】【4†b】", f'[\\[3\\]]({APPLE} "Apple")[\\[4\\]](https://x.example/a%20%28b%29 "Paren")'),
        ("[【3†a】](https://elsewhere)", "[【3†a】](https://elsewhere)"),
        ("`【3†a】` and\n```\n【3†a】\n```", "`【3†a】` and\n```\n【3†a】\n```"),
        ("【3†[x]】", f'[\\[3\\]]({APPLE} "Apple")'),
        ("【5†bad】", "\\[5\\]"),
        ("【3†multi†part】", f'[\\[3\\]]({APPLE} "Apple")'),
        ("no citations", "no citations"),
    ],
    ids=["known", "unknown", "adjacent-and-escaped-url", "already-linked", "code", "brackets",
         "javascript-url", "extra-dagger", "none"],
)
def test_link_citations(text, expected):
    assert link_citations(text, CITES) == expected


def test_link_citations_accepts_stored_form():
    stored = {3: {"id": 3, "title": "Apple", "url": "https://apple.example/"}}  # as in messages
    assert link_citations("【3†A】", stored) == '[\\[3\\]](https://apple.example/ "Apple")'
    as_pair = {3: ('Apple "Inc"\nnews', "https://a.example/")}
    assert link_citations("【3†A】", as_pair) == "[\\[3\\]](https://a.example/ \"Apple 'Inc' news\")"
    assert link_citations("【3†A】", {}) == "\\[3\\]"


# --- What a Chinese reader sees of a failed step ------------------------------------------------


def shown(result, lang: str, tmp_path) -> str:
    """The step's text as the page shows it to a reader of ``lang``, after saving."""
    from glm4_app.tool_steps import step_messages

    _, observation = step_messages(ToolCall("simple_browser", "call"), result, tmp_path)
    return observation.shown_in(lang)


def test_a_blocked_address_reads_in_chinese(server, tmp_path):
    result = run(make_tool(server, browser_allowlist=""), "open_url('http://10.0.0.1/')")
    assert result.text == (  # the model reads the English, unchanged
        "Could not open http://10.0.0.1/: refused to connect to 10.0.0.1: private addresses "
        "are blocked (an administrator can allow it with GLM4_BROWSER_ALLOWLIST)."
    )
    assert shown(result, "en", tmp_path) == result.text
    assert shown(result, "zh", tmp_path) == (
        "无法打开 http://10.0.0.1/：拒绝连接 10.0.0.1：私有地址已被屏蔽"
        "（管理员可通过 GLM4_BROWSER_ALLOWLIST 放行）。"
    )


def test_a_missing_page_and_unknown_ids_read_in_chinese(server, tmp_path):
    tool = make_tool(server)
    run(tool, 'search("apple")')  # ids 0-3; 2 is the missing page
    result = run(tool, "mclick([2, 3, 42])")
    zh = shown(result, "zh", tmp_path)
    assert f"无法打开 [2] {server.base}/missing：网站返回 HTTP 404 Not Found。" in zh
    assert "未知的编号（不在任何搜索结果中）：[42]。" in zh
    assert "Just plain text." in zh  # the page itself is not translated
    assert "Could not open" not in zh and "Unknown ids" not in zh


@pytest.mark.parametrize(
    "body, changes, expected",
    [
        ("open_url('{base}/slow')", {"browser_timeout_s": 1}, "无法打开 {base}/slow：1 秒后超时。"),
        ("search('x')", {"search_url": "{base}/search-500"},
         "搜索 'x' 失败：搜索服务返回 HTTP 500 Internal Server Error。"),
        ("search('x')", {"search_provider": ""},
         "搜索不可用：未配置联网搜索（GLM4_SEARCH_PROVIDER 为空）。open_url 仍可使用。"),
        ("mclick([7])", {}, "未知的编号（不在任何搜索结果中）：[7]。 请使用搜索结果给出的编号，例如 mclick([0, 1, 2])。"),
        ("open_url('{base}/binary')", {},
         "无法打开 {base}/binary：不是文本网页（image/png，10,248 字节），不显示其内容。"),
    ],
    ids=["timeout", "search-http-500", "search-off", "unknown-id", "binary"],
)
def test_browser_failures_read_in_chinese(server, tmp_path, body, changes, expected):
    changes = {k: v.format(base=server.base) if isinstance(v, str) else v for k, v in changes.items()}
    result = run(make_tool(server, **changes), body.format(base=server.base))
    assert result.is_error and shown(result, "zh", tmp_path) == expected.format(base=server.base)


def test_a_malformed_command_tells_the_reader_what_was_wrong_in_chinese(server, tmp_path):
    result = run(make_tool(server), "Let me search for that.")
    assert "Valid simple_browser commands" in result.text  # the model learns the syntax
    assert shown(result, "zh", tmp_path) == "无法理解命令 'Let me search for that.'。"
    assert shown(result, "en", tmp_path) == "Cannot understand the command 'Let me search for that.'."
