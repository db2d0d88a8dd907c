"""Previews in a real browser (Playwright in Debian's chromium), a scripted model on the All
Tools page, accounts (``GLM4_AUTH=password``), one server for the module. The tests run in
order: the script's replies are handed out one per request.

1. An answer with a web page, an SVG and a mermaid diagram previews all three (drawn, script
   run), full screen, a second version of the page stepped back to with its code, download,
   a reload that keeps them, a share link that shows them to another user, and addresses
   that open for nobody else.
2. A page whose script tries every attack reports inside its own frame that each failed; SVGs
   with scripts (one malformed) run none; a page that loops forever freezes only previews,
   and the chat still answers.
3. A code cell's DataFrame, SVG, HTML, Markdown, LaTeX, JSON and a 50 MB HTML output.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from browser_helpers import needs_chromium

pytestmark = [needs_chromium, pytest.mark.timeout(400)]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from browser_helpers import (  # noqa: E402 (after the skips: it imports playwright)
    add_accounts,
    element_shot,
    expect,
    finished,
    messages,
    new_page,
    preview_card,
    preview_frame,
    run_server,
    screenshot,
    scripted_env,
    send,
    sign_in,
)

PASSWORDS = {"alice": "alice's password", "bob": "bob's password"}
PAGE_V1 = (
    "<!doctype html><html><head><title>Solar system</title><style>body{margin:0;padding:20px;"
    "background:#0b1020;color:#fff;font-family:sans-serif}.sun{width:90px;height:90px;border-radius:50%;"
    "background:radial-gradient(#ffe082,#ff8f00);margin:10px auto}</style></head><body><h1>Solar system</h1>"
    "<div class='sun'></div><p id='state'>script did not run</p>"
    "<script>document.getElementById('state').textContent = 'Script ran: v' + (0 + 1);</script></body></html>"
)
PAGE_V2 = PAGE_V1.replace("90px", "140px").replace("(0 + 1)", "(1 + 1)")
SVG = (
    "<svg xmlns='http://www.w3.org/2000/svg' width='220' height='120' viewBox='0 0 220 120'><title>Badge</title>"
    "<rect width='220' height='120' rx='18' fill='#3b5bdb'/><circle cx='60' cy='60' r='32' fill='#ffd43b'/>"
    "<text x='110' y='70' fill='#fff' font-size='26' font-family='sans-serif'>GLM-4</text></svg>"
)
MERMAID = "graph TD\n  A[Question] --> B{Needs code?}\n  B -->|yes| C[Run Python]\n  B -->|no| D[Answer]\n  C --> D"
# Every attack the issue lists, each reported as a line in the page itself.
ATTACKS = [
    "document.cookie", "localStorage", "parent.document", "top.document", "top.location",
    "window.open x50", "alert", "fetch /_stcore/health", "fetch the API with the session",
    "XHR /healthz", "WebSocket /_stcore/stream", "sendBeacon",
]  # fmt: skip
ATTACK_PAGE = """<!doctype html><html><head><title>Attack</title></head><body><h1>Attack</h1><ol id="results"></ol>
<script>
const list = document.getElementById('results');
function report(name, blocked, how) {
  const li = document.createElement('li');
  li.textContent = name + ': ' + (blocked ? 'blocked' : 'NOT BLOCKED') + ' (' + how + ')';
  list.append(li);
}
function attempt(name, fn) {
  try { const got = fn(); report(name, got === '' || got === null || got === undefined || got === false || got === 0, String(got)); }
  catch (e) { report(name, true, e.name); }
}
attempt('document.cookie', () => document.cookie);
attempt('localStorage', () => localStorage.getItem('x') || localStorage.length);
attempt('parent.document', () => parent.document.body.innerHTML = 'pwned');
attempt('top.document', () => top.document.cookie);
attempt('top.location', () => { top.location = 'https://example.com/'; return 'navigated'; });
attempt('window.open x50', () => { let opened = 0; for (let i = 0; i < 50; i++) if (window.open('https://example.com/')) opened++; return opened; });
attempt('alert', () => { alert('hello'); return undefined; });
function request(name, promise) {
  promise.then(r => report(name, false, 'status ' + r.status), e => report(name, true, e.name));
}
request('fetch /_stcore/health', fetch('/_stcore/health'));
request('fetch the API with the session', fetch('/v1/models', {credentials: 'include'}));
const xhr = new XMLHttpRequest();
xhr.onload = () => report('XHR /healthz', false, 'status ' + xhr.status);
xhr.onerror = () => report('XHR /healthz', true, 'error');
try { xhr.open('GET', '/healthz'); xhr.send(); } catch (e) { report('XHR /healthz', true, e.name); }
try {
  const socket = new WebSocket('ws://' + location.host + '/_stcore/stream');
  socket.onopen = () => report('WebSocket /_stcore/stream', false, 'open');
  socket.onerror = () => report('WebSocket /_stcore/stream', true, 'error');
} catch (e) { report('WebSocket /_stcore/stream', true, e.name); }
// A beacon is queued (sendBeacon says true) and then refused: the browser says so in an event.
let beaconBlocked = false;
document.addEventListener('securitypolicyviolation', e => {
  if (e.blockedURI.includes('beacon') && !beaconBlocked) { beaconBlocked = true; report('sendBeacon', true, e.violatedDirective); }
});
try { navigator.sendBeacon('/healthz?beacon', 'x'); } catch (e) { beaconBlocked = true; report('sendBeacon', true, e.name); }
setTimeout(() => { if (!beaconBlocked) report('sendBeacon', false, 'sent'); }, 3000);
</script></body></html>"""
SCRIPTED_SVG = "<svg xmlns='http://www.w3.org/2000/svg' width='60' height='60' onload=\"parent.document.title='pwned'\"><script>parent.document.title='pwned'</script><circle cx='30' cy='30' r='25' fill='teal'/></svg>"
MALFORMED_SVG = "<svg xmlns='http://www.w3.org/2000/svg'><script>top.location='https://example.com/'</script><circle cx='5' cy='5' r='4'"
LOOP_PAGE = "<title>Forever</title><p id='state'>looping</p><script>setTimeout(() => { while (true) {} }, 300);</script>"
CELL = (
    "import pandas as pd\n"
    "from IPython.display import display, HTML, Markdown, Latex, JSON, SVG\n"
    "df = pd.DataFrame({'city': ['Paris', 'Beijing', 'Lima'], 'people_m': [2.1, 21.5, 10.7],"
    " 'since': pd.to_datetime(['2024-01-01', '2024-02-01', '2024-03-01'])})\n"
    "display(df)\n"
    "display(SVG(\"<svg xmlns='http://www.w3.org/2000/svg' width='80' height='80'><circle cx='40' cy='40' r='30' fill='teal'/></svg>\"))\n"
    "display(HTML('<p id=\"made\">HTML from the kernel</p>'))\n"
    "display(Markdown('**Markdown** from the kernel'))\n"
    "display(Latex(r'$$\\frac{a}{b}$$'))\n"
    "display(JSON({'answer': 42}))\n"
    "display(HTML('<p>' + 'x' * 50_000_000 + '</p>'))\n"
    "print('cell done')"
)
REPLIES = [
    f"Here is the page:\n\n```html\n{PAGE_V1}\n```\n\nA badge:\n\n```svg\n{SVG}\n```\n\nThe flow:\n\n```mermaid\n{MERMAID}\n```\n\nDone.",
    f"A bigger sun:\n\n```html\n{PAGE_V2}\n```\n\nDone again.",
    f"Try this:\n\n```html\n{ATTACK_PAGE}\n```\n\nAn icon:\n\n```svg\n{SCRIPTED_SVG}\n```\n\nAnd:\n\n```svg\n{MALFORMED_SVG}\n```\n\nEnd of attacks.",
    f"Forever:\n\n```html\n{LOOP_PAGE}\n```\n\nIt loops.",
    "Yes, still here.",
    f"python\n```python\n{CELL}\n```",
    "The table lists three cities.",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("artifacts_data")
    add_accounts(data_dir, PASSWORDS)
    env = scripted_env(data_dir, REPLIES) | {"GLM4_AUTH": "password"}
    with run_server(env, tmp_path_factory.mktemp("artifacts_server")) as server:
        yield server


def signed_in(browser, url: str, name: str):
    page = new_page(browser, url, 60_000)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    sign_in(page, name, PASSWORDS[name])
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=60_000)
    return page


@pytest.fixture(scope="module")
def alice(server, browser):
    page = signed_in(browser, server.url + "/tools", "alice")
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    yield page
    page.context.close()


def test_an_answer_previews_its_page_svg_and_diagram_with_versions_and_keeps_them(server, browser, alice):
    send(alice, "Draw the solar system, a badge and a flow chart")
    finished(alice, 2)
    expect(preview_frame(alice, "Solar system").locator("#state")).to_have_text("Script ran: v1", timeout=30_000)
    badge = preview_frame(alice, "Badge").locator("img")
    expect(badge).to_be_visible()
    assert badge.evaluate("img => img.naturalWidth") == 220  # the SVG was drawn, as an image
    diagram = preview_frame(alice, "Mermaid diagram").locator("#out svg")
    expect(diagram).to_contain_text("Needs code?", timeout=30_000)  # drawn by the app's own mermaid
    for title, name in (("Solar system", "artifact-html.png"), ("Badge", "artifact-svg.png"), ("Mermaid diagram", "artifact-mermaid.png")):
        element_shot(preview_card(alice, title), name)

    full = preview_card(alice, "Solar system").locator("button.full")
    full.click()  # the card fills the screen, its preview under the toolbar
    expect(full).to_have_attribute("title", "Exit full screen")
    frame = preview_card(alice, "Solar system").locator("iframe")
    alice.wait_for_function("f => f.getBoundingClientRect().height > 0.9 * innerHeight", arg=frame.element_handle())
    screenshot(alice, "artifact-full-screen.png")
    full.click()
    alice.wait_for_function("f => f.getBoundingClientRect().height < 0.9 * innerHeight", arg=frame.element_handle())
    expect(full).to_have_attribute("title", "Full screen")

    source = preview_card(alice, "Solar system").locator("a.download").get_attribute("href")
    download = alice.request.get(server.url + source)  # the viewer's own cookies
    assert download.ok and download.body().decode() == PAGE_V1 + "\n"
    assert "attachment" in download.headers["content-disposition"]
    src = preview_card(alice, "Solar system").locator("iframe").get_attribute("src")
    assert httpx.get(server.url + src).status_code == 404  # signed out: nothing
    bob = signed_in(browser, server.url + "/tools", "bob")
    assert bob.request.get(server.url + src).status == 404  # another user: nothing

    send(alice, "Make the sun bigger")
    finished(alice, 4)
    newer = preview_card(alice, "Solar system", 1)
    expect(newer.locator(".count")).to_have_text("2/2")
    expect(preview_frame(alice, "Solar system", 1).locator("#state")).to_have_text("Script ran: v2", timeout=30_000)
    newer.locator("button.previous").click()
    expect(newer.locator(".count")).to_have_text("1/2")
    expect(preview_frame(alice, "Solar system", 1).locator("#state")).to_have_text("Script ran: v1", timeout=30_000)
    answer = messages(alice).nth(3)
    answer.get_by_role("tab", name="</> Code").click()
    expect(answer.get_by_test_id("stCode")).to_contain_text("90px")  # the code of the version shown

    alice.reload()  # everything is still there, drawn again
    expect(messages(alice)).to_have_count(4, timeout=60_000)
    expect(preview_frame(alice, "Solar system").locator("#state")).to_have_text("Script ran: v1", timeout=30_000)
    expect(preview_frame(alice, "Mermaid diagram").locator("#out svg")).to_contain_text("Run Python", timeout=30_000)

    sidebar = alice.get_by_test_id("stSidebar")  # a share link: bob sees the previews too
    sidebar.get_by_role("button", name="⋯").first.click()
    alice.get_by_role("button", name="🔗 Share the branch shown").click()
    code = alice.get_by_test_id("stCode").filter(has_text="?share=").first
    link = re.search(r"\S+\?share=[\w-]+", code.inner_text()).group(0)
    alice.keyboard.press("Escape")
    bob.goto(link)
    expect(preview_frame(bob, "Solar system", 1).locator("#state")).to_have_text("Script ran: v2", timeout=60_000)
    expect(preview_frame(bob, "Badge").locator("img")).to_be_visible()
    shared = preview_card(bob, "Solar system").locator("iframe").get_attribute("src")
    assert shared.split("?")[0] != src.split("?")[0]  # the share's own copy
    assert alice.request.get(server.url + shared).status == 404  # bob's ticket is bob's
    bob.context.close()


def test_a_hostile_page_is_contained_and_the_chat_keeps_working(server, alice):
    alice.get_by_test_id("stSidebar").get_by_role("button", name="➕ New chat").click()
    expect(messages(alice)).to_have_count(0)
    title = alice.title()
    send(alice, "Attack the app")
    finished(alice, 2)
    results = preview_frame(alice, "Attack").locator("#results li")
    expect(results).to_have_count(len(ATTACKS), timeout=30_000)
    lines = results.all_inner_texts()
    assert sorted(line.split(":")[0] for line in lines) == sorted(ATTACKS)
    assert [line for line in lines if "NOT BLOCKED" in line] == [], lines
    element_shot(preview_card(alice, "Attack"), "artifact-attacks.png")
    assert len(alice.context.pages) == 1 and alice.dialogs == []  # no popup, no dialog
    assert alice.url.startswith(server.url) and alice.title() == title
    expect(alice.get_by_test_id("stChatInputTextArea")).to_be_visible()  # the page was not replaced
    expect(alice.get_by_text("This SVG is not well-formed XML")).to_be_visible()
    expect(preview_frame(alice, "SVG image").locator("img")).to_be_visible()  # the icon, drawn without its scripts

    send(alice, "Loop forever")
    finished(alice, 4)
    stuck = preview_frame(alice, "Forever").locator("#state")
    expect(stuck).to_have_text("looping", timeout=30_000)
    started = time.monotonic()
    assert alice.evaluate("1 + 1") == 2 and time.monotonic() - started < 5  # the page is free
    messages(alice).nth(3).get_by_role("tab", name="</> Code").click()
    expect(messages(alice).nth(3).get_by_test_id("stCode")).to_contain_text("while (true)")
    # The previews shared the stalled process: the watch stops the one that loops (its
    # notice says so) and brings the others back, the attack page run again.
    messages(alice).nth(3).get_by_role("tab", name="👁 Preview").click()
    expect(preview_card(alice, "Forever").locator(".notice")).to_contain_text("never ends", timeout=60_000)
    expect(preview_card(alice, "Forever").locator("iframe")).to_be_hidden()
    expect(preview_frame(alice, "Attack").locator("#results li")).to_have_count(len(ATTACKS), timeout=60_000)
    element_shot(preview_card(alice, "Forever"), "artifact-stopped.png")
    send(alice, "Still there?")
    expect(finished(alice, 6)).to_contain_text("Yes, still here.")
    assert alice.title() == title


def test_a_code_cells_rich_outputs_show_as_a_notebook_shows_them(server, browser):
    page = signed_in(browser, server.url + "/tools", "alice")  # a fresh tab: no looping frame
    send(page, "Show the cities")
    answer = finished(page, 2)
    expect(answer).to_contain_text("The table lists three cities.")
    table = answer.get_by_test_id("stDataFrame")
    expect(table).to_be_visible()
    expect(answer.locator(".card")).to_have_count(2)  # the SVG and the HTML output
    expect(preview_frame(page, "HTML output").locator("#made")).to_have_text("HTML from the kernel")
    expect(preview_frame(page, "SVG output").locator("img")).to_be_visible()
    expect(answer.locator("strong", has_text="Markdown")).to_be_visible()
    expect(answer.locator(".katex")).to_be_visible()
    expect(answer.get_by_test_id("stJson")).to_contain_text("42")
    expect(answer).to_contain_text("was too large to show")
    element_shot(table, "artifact-dataframe.png")
    element_shot(answer, "artifact-rich-outputs.png")

    page.reload()
    answer = messages(page).nth(1)
    expect(answer.get_by_test_id("stDataFrame")).to_be_visible(timeout=60_000)
    expect(preview_frame(page, "HTML output").locator("#made")).to_have_text("HTML from the kernel")
    page.context.close()
