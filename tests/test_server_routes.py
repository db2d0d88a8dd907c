"""The server's own routes over real HTTP: a uvicorn on 127.0.0.1 serving the sign-in, sign-up
and artifact routes behind the gate, over a real SQLite database in a temporary folder, the
settings switched per test. (The whole app, with its pages and a browser, is
tests/test_auth_browser.py.)"""

from __future__ import annotations

import socket
import threading

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware

from browser_helpers import wait_for
from glm4_app import shares
from glm4_app.artifacts import access
from glm4_app.server import artifacts, signin, state
from glm4_app.server.gate import Gate
from glm4_app.settings import Settings
from glm4_app.store import ConversationStore
from test_artifacts import PAGE, saved_answer


@pytest.fixture(scope="module")
def url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    app = Starlette(routes=signin.ROUTES + artifacts.ROUTES, middleware=[Middleware(Gate)])
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 30, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def use(monkeypatch):
    """use(settings): the settings the routes read from now on (as if the server restarted)."""
    return lambda settings: monkeypatch.setattr(state, "settings", lambda: settings)


# --- Sign-in and sign-up --------------------------------------------------------------------


def test_a_stale_session_cookie_is_cleared_as_it_was_set_behind_https(url, use, tmp_path):
    use(Settings(data_dir=tmp_path, auth="password"))
    page_load = {"Accept": "text/html", "Cookie": "glm4_session=" + "x" * 43}
    for proto, secure in (("https", True), ("http", False)):
        response = httpx.get(url + "/", headers={**page_load, "X-Forwarded-Proto": proto})
        assert response.status_code == 303 and response.headers["location"] == "/signin?next=%2F&expired=1"
        cleared = response.headers["set-cookie"]
        assert 'glm4_session=""' in cleared and "Max-Age=0" in cleared and "HttpOnly" in cleared
        assert ("Secure" in cleared) == secure, cleared


def test_a_sign_up_form_too_large_or_of_unknown_size_is_refused_as_such(url, use, tmp_path):
    use(Settings(data_dir=tmp_path, auth="password", signup="open"))
    fields = {"name": "alice", "password": "alice's password", "again": "alice's password"}
    large = httpx.post(url + "/signup", data={**fields, "next": "/" + "x" * 20_000})
    assert large.status_code == 413 and "The form is too large." in large.text
    assert "another site" not in large.text  # it did not come from another site
    unsized = httpx.post(  # chunked: no Content-Length to check before reading it
        url + "/signup",
        content=iter([b"name=alice&password=alice%27s+password&again=alice%27s+password"]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsized.status_code == 413 and "The form is too large." in unsized.text
    assert "glm4_session" not in large.headers.get("set-cookie", "") + unsized.headers.get("set-cookie", "")
    made = httpx.post(url + "/signup", data=fields)  # the same fields, sent plainly, make the account
    assert made.status_code == 303 and "glm4_session=" in made.headers["set-cookie"]


# --- Artifact previews of share links --------------------------------------------------------


def test_a_signed_out_preview_opens_only_while_its_link_is_open_to_anyone(url, use, tmp_path):
    settings = Settings(data_dir=tmp_path, auth="password", public_shares="true")
    use(settings)
    store = ConversationStore(settings.database)
    conversation = saved_answer(store, "user:alice")

    def signed_out_preview(public: bool) -> str:
        """The preview address a signed-out visitor of a new link is given ("" is nobody)."""
        page = shares.create(store, conversation, public).snapshot.messages[-1].artifacts[0]
        return url + access.address(settings.data_dir, page.id, "")

    anyone, users_only = signed_out_preview(True), signed_out_preview(False)
    opened = httpx.get(anyone)
    assert opened.status_code == 200 and opened.text.startswith(PAGE)
    assert httpx.get(users_only).status_code == 404  # a link for the server's users only

    use(settings.with_(public_shares="false"))  # the admin closes links open to anyone
    assert httpx.get(anyone).status_code == 404
    assert httpx.get(anyone + "&download=1").status_code == 404
