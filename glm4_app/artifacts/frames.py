"""The documents ``/artifact/<id>`` serves and the policy each is served under.

Every one is sent with ``Content-Security-Policy: sandbox allow-scripts ...``: the browser runs
it in an opaque origin whatever frame (or tab) shows it, so it cannot read the app's page,
cookies, storage or session, cannot navigate the top page, open windows, submit forms or show
dialogs; Chromium runs such frames in a process apart from the page, so a script that never
ends stalls the previews (which ui/artifact_frame.js then stops), never the chat. Its network
(``policy``):

- ``fetch``/XHR/WebSocket/EventSource/beacons: never (``connect-src 'none'``). This is what
  keeps it away from the app's endpoints whatever address or scheme the app is served at.
- scripts, styles, images, fonts and media from ``https:`` (CDNs: the pages models write
  use them), unless ``GLM4_ARTIFACT_NETWORK=off``; inline ones and ``data:``/``blob:`` always.
- no frames inside it, no form targets, no ``<base>``; only the app may frame it.
- with the network off, one way out stays open, and no browser offers a way to close it: a
  sandboxed page may always navigate itself (``location = ...``, a link, ``<meta
  http-equiv=refresh>``; CSP's ``navigate-to`` was never shipped, and Chromium fires no
  cancelable ``navigate`` event in an opaque origin). So the page's first script
  (``LEAVE_SCRIPT``) tells the app's page the moment it starts to leave, and the page stops
  the preview there (ui/artifact_frame.js): the request may go out, what answers is not
  shown. A page that gets rid of that script first (``document.open()`` drops its listener)
  is stopped when its frame loads again.

An HTML artifact is served as written, with a small script appended that tells the page its
height. An SVG is shown as an image (``<img src="data:...">``: scripts in it never run, nothing
it names is fetched). A mermaid diagram is drawn by the mermaid library the app serves itself
(``/artifact-lib/mermaid.min.js``). The documents the app writes around SVG and mermaid run
only their own two scripts, allowed by hash.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from pathlib import Path

MERMAID_FILE = Path(__file__).resolve().parents[2] / "assets" / "vendor" / "mermaid" / "mermaid.min.js"
MERMAID_VERSION = "11.17.2"
MERMAID_PATH = "/artifact-lib/mermaid.min.js"

# Tells the page how tall the document's content is (the bottom of what the body holds), so a
# preview is as tall as its content (the page caps it; a page made to fill the window keeps
# the frame's height), and twice a second that it is alive (a script that never ends stops
# that: the page then stops the preview, see ui/artifact_frame.js). The page takes nothing
# else from it, and only from its own frame.
HEIGHT_SCRIPT = (
    "(function(){var last=0;function height(){var b=document.body;if(!b)return 0;"
    "var r=document.createRange();r.selectNodeContents(b);var s=getComputedStyle(b);"
    "return Math.ceil(r.getBoundingClientRect().bottom+window.scrollY+parseFloat(s.paddingBottom)"
    "+parseFloat(s.marginBottom));}"
    "function report(){var h=height();if(h>0&&h!==last){last=h;parent.postMessage({glm4ArtifactHeight:h},'*');}}"
    "addEventListener('load',report);addEventListener('load',report,true);"
    "if(window.ResizeObserver&&document.body){new ResizeObserver(report).observe(document.body);}"
    "[0,200,1000,3000].forEach(function(ms){setTimeout(report,ms);});"
    "setInterval(function(){parent.postMessage({glm4ArtifactAlive:1},'*');},500);})();"
)
# The first thing an HTML preview runs when the network is off: a navigation it starts
# (``beforeunload``, in the capture phase so that no listener of the page can stop it first)
# tells the page, which then removes the frame. See the module's docstring.
LEAVE_SCRIPT = (
    "addEventListener('beforeunload',function(){parent.postMessage({glm4ArtifactLeaving:1},'*');},true);"
)
# Where LEAVE_SCRIPT goes: after a doctype (before it, the page would be drawn in quirks mode),
# else first of all.
_PROLOGUE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s|<!--.*?-->)*(?:<!doctype[^>]*>)?", re.I | re.S)
MERMAID_SCRIPT = (
    "(function(){var out=document.getElementById('out');"
    "function fail(e){out.className='error';out.textContent=String((e&&e.message)||e);}"
    "if(!window.mermaid){fail('The mermaid library did not load.');return;}"
    "mermaid.initialize({startOnLoad:false,securityLevel:'strict'});"
    "mermaid.render('glm4-diagram',document.getElementById('source').textContent)"
    ".then(function(r){out.innerHTML=r.svg;},fail);})();"
)
_STYLE = (
    "html,body{margin:0;background:#fff;color:#1f2328;font:14px/1.4 system-ui,sans-serif}"
    "body{padding:12px;box-sizing:border-box}#out{text-align:center}"
    "#out svg,#out img{max-width:100%;height:auto}"
    ".error{text-align:left!important;color:#a4262c;white-space:pre-wrap;font:13px monospace}"
)


def _hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


_OWN_SCRIPTS = f"{_hash(HEIGHT_SCRIPT)} {_hash(MERMAID_SCRIPT)}"
_ALWAYS = "connect-src 'none'; frame-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'"


def policy(kind: str, network: bool) -> str:
    """The Content-Security-Policy header of a preview of ``kind``."""
    if kind == "html":
        web = " https:" if network else ""
        return (
            "sandbox allow-scripts; default-src 'none'; "
            f"script-src 'unsafe-inline' 'unsafe-eval' data: blob:{web}; "
            f"style-src 'unsafe-inline' data:{web}; img-src data: blob:{web}; font-src data:{web}; "
            f"media-src data: blob:{web}; worker-src blob:; {_ALWAYS}"
        )
    # The app's own wrappers: only their scripts (and, for mermaid, the library) run.
    library = " 'self'" if kind == "mermaid" else ""
    return (
        f"sandbox allow-scripts; default-src 'none'; script-src {_OWN_SCRIPTS}{library}; "
        f"style-src 'unsafe-inline'; img-src data:; font-src data:; {_ALWAYS}"
    )


def document(kind: str, source: bytes, network: bool = True) -> bytes:
    """The page a preview frame loads for an artifact whose file holds ``source``."""
    reporter = f"<script>{HEIGHT_SCRIPT}</script>".encode()
    if kind == "html":
        if not network:
            cut = _PROLOGUE.match(source).end()
            source = source[:cut] + f"<script>{LEAVE_SCRIPT}</script>".encode() + source[cut:]
        return source + b"\n" + reporter
    head = f'<!doctype html><html><head><meta charset="utf-8"><style>{_STYLE}</style></head><body>'
    if kind == "svg":
        image = base64.b64encode(source).decode()
        body = f'<div id="out"><img alt="" src="data:image/svg+xml;base64,{image}"></div>'
    else:
        text = html.escape(source.decode("utf-8", "replace"))
        body = (
            f'<div id="out"></div><pre id="source" hidden>{text}</pre>'
            f'<script src="{MERMAID_PATH}?v={MERMAID_VERSION}"></script><script>{MERMAID_SCRIPT}</script>'
        )
    return (head + body).encode() + reporter + b"</body></html>"


def headers(kind: str, network: bool) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy(kind, network),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",  # CDNs never learn the preview's address
        "Cache-Control": "private, max-age=3600",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), "
        "payment=(), display-capture=(), clipboard-read=()",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
