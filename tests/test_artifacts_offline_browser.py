"""Previews with ``GLM4_ARTIFACT_NETWORK=off`` in a real browser (Playwright in Debian's
chromium), a scripted model on the All Tools page, a real HTTP server on 127.0.0.1 standing
for the outside world.

1. Pages that navigate themselves (``location = ...``, ``<meta http-equiv=refresh>``, and one
   that first drops the app's script with ``document.open()``): no browser lets the app forbid
   that, so each may send its one request; the page then stops the preview and says so, the
   outside server never gets a second one, a calm page beside them keeps running and Reload
   runs a stopped one again (and stops it again).
2. A plotly figure from the real kernel draws in its preview with no network at all.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser_helpers import needs_chromium

pytestmark = [needs_chromium, pytest.mark.timeout(300)]
pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

from browser_helpers import (  # noqa: E402 (after the skips: it imports playwright)
    element_shot,
    expect,
    finished,
    new_page,
    preview_card,
    run_server,
    scripted_env,
    send,
)

LEFT = "tried to open another address"


class Outside(BaseHTTPRequestHandler):
    """The world outside: counts what reaches it and answers with a page that would say so."""

    hits: list[str] = []

    def do_GET(self):
        self.hits.append(self.path)
        body = b"<!doctype html><title>Outside</title><p id='reached'>the outside page</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:  # the frame was removed before the answer arrived
            pass

    def log_message(self, *args):
        pass


def pages(outside: str) -> list[str]:
    jump = (
        "<!doctype html><title>Jump</title><p>leaving</p>"
        f"<script>setTimeout(() => {{ location = '{outside}/jump'; }}, 300)</script>"
    )
    refresh = (
        "<!doctype html><html><head><title>Refresh</title>"
        f"<meta http-equiv='refresh' content='0;url={outside}/refresh'></head><body><p>refreshing</p></body></html>"
    )
    sly = (  # document.open() drops the app's listener, then the new page leaves
        "<title>Sly</title><p>sly</p><script>setTimeout(() => { document.open(); document.write(\"<p>new page</p>"
        f"<script>setTimeout(() => {{ location = '{outside}/sly'; }}, 300)<\\/script>\"); document.close(); }}, 300)</script>"
    )
    calm = (  # moving to an anchor is no leaving
        "<title>Calm</title><p id='state'>script did not run</p><p id='end'>end</p>"
        "<script>location.hash = '#end'; document.getElementById('state').textContent = 'still here';</script>"
    )
    return [jump, refresh, sly, calm]


PLOTLY_CELL = (
    "import plotly.express as px\n"
    "px.bar(x=['north', 'south', 'east'], y=[12, 31, 7], title='Sales by region').show()"
)


@pytest.fixture(scope="module")
def outside():
    Outside.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Outside)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def server(tmp_path_factory, outside):
    data_dir = tmp_path_factory.mktemp("offline_artifacts_data")
    blocks = "\n\n".join(f"```html\n{page}\n```" for page in pages(outside))
    replies = [
        f"Four pages:\n\n{blocks}\n\nThat is all.",
        f"python\n```python\n{PLOTLY_CELL}\n```",
        "The south sells most.",
    ]
    env = scripted_env(data_dir, replies) | {"GLM4_ARTIFACT_NETWORK": "off"}
    with run_server(env, tmp_path_factory.mktemp("offline_artifacts_server")) as server:
        yield server


@pytest.fixture(scope="module")
def page(server, browser):
    page = new_page(browser, server.url + "/tools", 60_000)
    yield page
    page.context.close()


def hits(path: str) -> int:
    return sum(1 for hit in Outside.hits if hit == path)


def test_a_page_that_navigates_itself_is_stopped_after_its_one_request(page):
    send(page, "Write four pages")
    finished(page, 2)
    for title in ("Jump", "Refresh", "Sly"):
        expect(preview_card(page, title).locator(".notice")).to_contain_text(LEFT, timeout=30_000)
        expect(preview_card(page, title).locator("iframe")).to_be_hidden()
    calm = preview_card(page, "Calm")
    expect(calm.frame_locator("iframe").locator("#state")).to_have_text("still here")  # a hash is no leaving
    expect(calm.locator(".notice")).to_be_hidden()
    time.sleep(2)  # a page put back and leaving again would have sent more by now
    assert all(hits(path) <= 1 for path in ("/jump", "/refresh", "/sly")), Outside.hits
    assert set(Outside.hits) <= {"/jump", "/refresh", "/sly"}, Outside.hits
    element_shot(preview_card(page, "Jump"), "artifact-left.png")

    jump = preview_card(page, "Jump")
    stopped = jump.locator("iframe").element_handle()
    before = hits("/jump")
    jump.locator("button.reload").click()  # runs it again: it leaves again, and is stopped again
    page.wait_for_function(
        """([card, old]) => !old.isConnected && card.querySelector('iframe').hidden
            && !card.querySelector('.notice').hidden""",
        arg=[jump.element_handle(), stopped],
    )
    expect(jump.locator(".notice")).to_contain_text(LEFT)
    time.sleep(1)
    assert hits("/jump") <= before + 1, Outside.hits
    expect(calm.frame_locator("iframe").locator("#state")).to_have_text("still here")
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_enabled()  # the chat itself is untouched


def test_a_plotly_figure_draws_with_no_network(page):
    send(page, "Chart the sales")
    answer = finished(page, 4)
    expect(answer).to_contain_text("The south sells most.")
    chart = preview_card(page, "HTML output").frame_locator("iframe")
    expect(chart.locator(".main-svg").first).to_be_visible(timeout=60_000)  # plotly.js ran, inline
    expect(chart.locator(".gtitle")).to_have_text("Sales by region")
    expect(chart.locator(".point")).to_have_count(3)  # one bar a region
    element_shot(preview_card(page, "HTML output"), "artifact-plotly.png")
