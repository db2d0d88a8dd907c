"""Artifacts without a browser: fenced blocks parsed whole and streamed, files and ids, the
tickets of /artifact/<id> and its sandbox policy (through the real route, on a real SQLite
store), share links and exports carrying them, and what the kernel's outputs become."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from glm4_app import history, shares
from glm4_app import store as conversation_store
from glm4_app.artifacts import access, frames, saved
from glm4_app.artifacts.blocks import find, keys, title_of
from glm4_app.conversation import Conversation
from glm4_app.messages import Message
from glm4_app.settings import Settings
from glm4_app.store import ConversationStore
from glm4_app.tool_steps import step_messages
from glm4_app.tool_types import Image, Output, ToolCall, ToolResult

PAGE = "<!doctype html><html><head><title>Solar &amp; moon</title></head><body><p>hi</p></body></html>\n"
ANSWER = (
    "Here it is:\n\n```html\n" + PAGE + "```\n\nA badge:\n\n~~~svg\n<svg xmlns='http://www.w3.org/2000/svg'/>\n~~~\n"
    "Flow:\n\n```mermaid\ngraph TD; A-->B\n```\n\nAnd code:\n\n```python\nprint(1)\n```\n"
)


# -- fenced blocks ----------------------------------------------------------------------------


def test_complete_html_svg_and_mermaid_blocks_are_found_in_order():
    blocks = find(ANSWER)
    assert [(b.kind, b.language) for b in blocks] == [("html", "html"), ("svg", "svg"), ("mermaid", "mermaid")]
    assert blocks[0].code == PAGE and blocks[2].code == "graph TD; A-->B\n"
    assert ANSWER[blocks[0].start : blocks[0].end] == "```html\n" + PAGE + "```\n"
    assert title_of("html", PAGE) == "Solar & moon"
    assert keys(blocks, [title_of(b.kind, b.code) for b in blocks]) == ["html:solar & moon", "svg#1", "mermaid#1"]


@pytest.mark.parametrize(
    "text, kinds",
    [
        ("```html\n<p>still being written", []),  # unclosed: code, no preview
        ("```html\n<p>a</p>\n``", []),  # two backticks do not close it
        ("````html\n```\n<p>a</p>\n````\n", ["html"]),  # a longer fence holds a shorter one
        ("   ```svg\n<svg/>\n   ```", ["svg"]),  # indented up to three spaces
        ("    ```svg\n<svg/>\n    ```", []),  # four: an indented code block, not a fence
        ("```xml\n<?xml version='1.0'?><svg/>\n```", ["svg"]),  # xml holding an svg
        ("```xml\n<note/>\n```", []),
        ("```HTML title=x\n<p/>\n```", ["html"]),
        ("``` html`x`\n<p/>\n```", []),  # backticks in a backtick fence's info: not a fence
        ("~~~mermaid\nA\n```\n~~~", ["mermaid"]),  # closed by its own character only
    ],
)
def test_fences_follow_commonmark(text, kinds):
    assert [b.kind for b in find(text)] == kinds


def test_a_streamed_answer_never_previews_a_block_before_it_is_complete():
    """Every prefix of the answer (as the page sees it while it is written) finds only the
    blocks the whole answer has, whole."""
    whole = [(b.kind, b.code) for b in find(ANSWER)]
    for end in range(len(ANSWER) + 1):
        found = [(b.kind, b.code) for b in find(ANSWER[:end])]
        assert found == whole[: len(found)], (end, ANSWER[:end][-20:])


def test_titles_and_version_keys():
    assert title_of("svg", "<svg><title>A  <b>cat</b></title></svg>") == "A cat"
    assert title_of("html", "<body><h1>Big <i>news</i></h1></body>") == "Big news"
    assert title_of("mermaid", "---\ntitle: 'Order flow'\n---\ngraph TD; A-->B") == "Order flow"
    assert title_of("html", "<title>" + "x" * 200 + "</title>").endswith("…")
    blocks = find("```html\n<p>1</p>\n```\n```html\n<p>2</p>\n```\n```svg\n<svg/>\n```\n")
    assert keys(blocks, [title_of(b.kind, b.code) for b in blocks]) == ["html#1", "html#2", "svg#1"]


# -- files and ids ----------------------------------------------------------------------------


def test_an_answer_gets_one_file_per_block_under_a_random_id(tmp_path):
    message = Message("assistant", ANSWER)
    saved.publish_answer(message, tmp_path)
    kinds = [(a.kind, a.block, a.title) for a in message.artifacts]
    assert kinds == [("html", 0, "Solar & moon"), ("svg", 1, ""), ("mermaid", 2, "")]
    for artifact in message.artifacts:
        assert Path(artifact.path).parent == tmp_path and len(artifact.id) >= 22
        assert artifact.id not in ANSWER and message.id not in artifact.id
    assert Path(message.artifacts[0].path).read_text() == PAGE
    assert len({a.id for a in message.artifacts}) == 3
    again = Message.from_dict(json.loads(json.dumps(message.to_dict())))
    assert again.artifacts == message.artifacts


def test_a_continued_answer_keeps_the_previews_it_had(tmp_path):
    stopped = Message("assistant", "```svg\n<svg/>\n```\n```html\n<p>half")
    saved.publish_answer(stopped, tmp_path)
    assert [a.kind for a in stopped.artifacts] == ["svg"]
    carried = Message("assistant", stopped.content + "</p>\n```\n")
    saved.publish_answer(carried, tmp_path, stopped.artifacts)
    assert carried.artifacts[0] == stopped.artifacts[0]  # the same file and id
    assert carried.artifacts[1].kind == "html" and len(list(tmp_path.iterdir())) == 2


def test_a_steps_outputs_become_artifacts_in_order(tmp_path):
    page = tmp_path / "work" / "page.html"
    page.parent.mkdir()
    page.write_text("<h1>file</h1>")
    (tmp_path / "work" / "data.csv").write_text("a\n1\n")
    table = {"columns": ["x"], "index": [0], "data": [[1]], "dtypes": ["int64"], "rows": 1, "columns_total": 1}
    result = ToolResult(
        "text",
        images=(Image(b"\x89PNG fake"),),
        files=(page, page.parent / "data.csv"),
        outputs=(
            Output("stdout", "hi\n"),
            Output("display_data", "<DataFrame>", {saved.TABLE_MIME: table, "text/html": "<table/>", "text/plain": "df"}),
            Output("display_data", "[image 1]", {"text/plain": "<Figure>"}, image=0),
            Output("display_data", "", {"text/html": "<b>x</b>", "text/plain": "<HTML>"}),
            Output("display_data", "", {"text/plain": "<HTML>", saved.OMITTED_MIME: {"mimes": ["text/html"], "chars": 50_000_000}}),
            Output("execute_result", "", {"text/latex": "$x^2$", "text/plain": "x**2"}),
            Output("execute_result", "4", {"text/plain": "4"}),  # text only: the text shows it
        ),
    )
    _, observation = step_messages(ToolCall("python", "code"), result, tmp_path / "media")
    assert [a.kind for a in observation.artifacts] == ["table", "image", "html", "omitted", "latex", "html"]
    assert observation.artifacts[1].path == observation.images[0].path
    assert json.loads(Path(observation.artifacts[0].path).read_text()) == table
    assert observation.artifacts[3].size == 50_000_000 and observation.artifacts[3].title == "text/html"
    assert observation.artifacts[-1].key == "file:page.html" and observation.artifacts[-1].title == "page.html"
    assert Path(observation.artifacts[-1].path).read_text() == "<h1>file</h1>"
    assert Path(observation.artifacts[-1].path).parent == tmp_path / "media"  # a copy, kept with the conversation


def test_a_page_file_over_the_limit_is_noted_not_copied(tmp_path):
    huge = tmp_path / "huge.html"
    with open(huge, "wb") as f:
        f.truncate(saved.MAX_BYTES + 1)  # sparse: 20 MB on paper, nothing on disk
    found = saved.of_tool_result(ToolResult("ok", files=(huge,)), [], tmp_path / "media")
    assert [(a.kind, a.title, a.size, a.path) for a in found] == [("omitted", "huge.html", saved.MAX_BYTES + 1, "")]
    assert not (tmp_path / "media").exists()


def test_a_written_page_swapped_for_a_link_is_not_read(tmp_path):
    """The code may replace its file (or a folder above it) with a link to a server file
    after the cell ended: the app, reading outside the sandbox, follows no link."""
    secret = tmp_path / "secret.txt"
    secret.write_text("the app's secret")
    work = tmp_path / "work"
    (work / "real").mkdir(parents=True)
    (work / "page.html").symlink_to(secret)
    (work / "linked").symlink_to(tmp_path)
    for path in (work / "page.html", work / "linked" / "secret.txt", work / "real"):
        assert saved.read_written(path, 1000) == (0, b"")
    (work / "real" / "ok.html").write_text("<p>ok</p>")
    assert saved.read_written(work / "real" / "ok.html", 1000) == (9, b"<p>ok</p>")
    found = saved.of_tool_result(ToolResult("ok", files=(work / "page.html",)), [], tmp_path / "media")
    assert found == []


# -- the route ----------------------------------------------------------------------------------


@pytest.fixture
def served(tmp_path, monkeypatch):
    """The artifact routes over a real store, the settings pointing at it."""
    from glm4_app.server import artifacts as routes
    from glm4_app.server import state

    settings = Settings(data_dir=tmp_path)
    monkeypatch.setattr(state, "settings", lambda: settings)
    conversation_store.shared.cache_clear()
    store = ConversationStore(tmp_path / "conversations.sqlite3")
    conversation = saved_answer(store, "anon:alice")
    client = TestClient(Starlette(routes=routes.ROUTES))
    yield client, store, conversation, settings
    conversation_store.shared.cache_clear()


def saved_answer(store: ConversationStore, owner: str) -> Conversation:
    """A stored conversation of ``owner`` whose answer (ANSWER) has its three previews."""
    conversation = Conversation(owner=owner)
    conversation.add_user("draw")
    answer = Message("assistant", ANSWER)
    saved.publish_answer(answer, store.files_dir / conversation.id)
    conversation.messages.append(answer)
    store.save(conversation)
    return conversation


def visitor(cookie: str) -> str:
    from glm4_app.identity import visitor_identity

    return visitor_identity(cookie).owner


ALICE, BOB = "a" * 43, "b" * 43  # visitor cookies


def test_the_viewer_it_was_shown_to_opens_it_sandboxed_and_nobody_else(served):
    client, store, conversation, settings = served
    page = conversation.messages[-1].artifacts[0]
    address = access.address(settings.data_dir, page.id, visitor(ALICE))
    response = client.get(address, cookies={"glm4_visitor": ALICE})
    assert response.status_code == 200 and response.text.startswith(PAGE)
    assert "glm4ArtifactHeight" in response.text  # the height reporter, appended
    policy = response.headers["content-security-policy"]
    assert policy.startswith("sandbox allow-scripts;") and "allow-same-origin" not in policy
    assert "connect-src 'none'" in policy and "frame-ancestors 'self'" in policy
    assert "script-src 'unsafe-inline' 'unsafe-eval' data: blob: https:" in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"

    for cookies in ({"glm4_visitor": BOB}, {}, {"glm4_visitor": "short"}):
        assert client.get(address, cookies=cookies).status_code == 404  # another viewer, nobody
    wrong = access.address(settings.data_dir, page.id, visitor(BOB))
    assert client.get(wrong, cookies={"glm4_visitor": ALICE}).status_code == 404  # another's ticket
    assert client.get(f"/artifact/{page.id}", cookies={"glm4_visitor": ALICE}).status_code == 404
    unknown = access.address(settings.data_dir, "x" * 22, visitor(ALICE))
    assert client.get(unknown, cookies={"glm4_visitor": ALICE}).status_code == 404


def test_downloads_svg_and_mermaid_pages_and_the_library(served):
    client, store, conversation, settings = served
    page, svg, diagram = conversation.messages[-1].artifacts
    who, cookies = visitor(ALICE), {"glm4_visitor": ALICE}
    download = client.get(access.address(settings.data_dir, page.id, who, download=True), cookies=cookies)
    assert download.content == PAGE.encode()
    assert download.headers["content-disposition"] == "attachment; filename*=UTF-8''Solar-moon.html"

    drawn = client.get(access.address(settings.data_dir, svg.id, who), cookies=cookies)
    assert '<img alt="" src="data:image/svg+xml;base64,' in drawn.text  # an image: its scripts never run
    policy = drawn.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]  # only the app's own, by hash

    mermaid = client.get(access.address(settings.data_dir, diagram.id, who), cookies=cookies)
    assert "graph TD; A--&gt;B" in mermaid.text and f"{frames.MERMAID_PATH}?v=" in mermaid.text
    assert "'self'" in mermaid.headers["content-security-policy"]
    library = client.get(frames.MERMAID_PATH, headers={"Accept-Encoding": "gzip"})
    assert library.status_code == 200 and library.headers["content-encoding"] == "gzip"
    assert library.content == frames.MERMAID_FILE.read_bytes()  # (the client unpacks it)
    assert "immutable" in library.headers["cache-control"]


def test_network_off_allows_nothing_from_the_network(served, monkeypatch):
    client, store, conversation, settings = served
    from glm4_app.server import state

    monkeypatch.setattr(state, "settings", lambda: settings.with_(artifact_network="off"))
    page = conversation.messages[-1].artifacts[0]
    address = access.address(settings.data_dir, page.id, visitor(ALICE))
    response = client.get(address, cookies={"glm4_visitor": ALICE})
    policy = response.headers["content-security-policy"]
    assert policy == frames.policy("html", False)
    assert "https:" not in policy and "http:" not in policy and "connect-src 'none'" in policy
    assert "https:" in frames.policy("html", True)
    # The one way out no policy closes, navigating itself: the page's first script tells the
    # app's page, which stops the preview (after the doctype, which keeps standards mode).
    leave = f"<script>{frames.LEAVE_SCRIPT}</script>"
    assert response.text.startswith("<!doctype html>" + leave + "<html>")
    assert frames.document("html", b"<meta http-equiv=refresh content=0;url=x>", False).startswith(leave.encode())
    commented = frames.document("html", b"\n<!-- a -->\n<!DOCTYPE html><p>", False)
    assert commented.startswith(b"\n<!-- a -->\n<!DOCTYPE html>" + leave.encode() + b"<p>")
    assert b"beforeunload" not in frames.document("html", PAGE.encode(), True)  # the network on: as written


def test_a_row_pointing_outside_the_stores_files_is_never_served(served, tmp_path):
    client, store, conversation, settings = served
    secret = tmp_path / "secret.html"
    secret.write_text("secret")
    answer = conversation.messages[-1]
    answer.artifacts[0].path = str(secret)  # as if the stored JSON named another file
    store.save(conversation)
    address = access.address(settings.data_dir, answer.artifacts[0].id, visitor(ALICE))
    assert client.get(address, cookies={"glm4_visitor": ALICE}).status_code == 404


def test_the_signing_key_is_private_and_kept(tmp_path):
    access.key.cache_clear()
    first = access.ticket(tmp_path, "id", "user:alice")
    assert stat.S_IMODE(os.stat(tmp_path / access.KEY_FILE).st_mode) == 0o600
    access.key.cache_clear()  # a restart reads the same key: addresses stay valid
    assert access.ticket(tmp_path, "id", "user:alice") == first != access.ticket(tmp_path, "id", "user:bob")
    assert access.valid(tmp_path, "id", "user:alice", first)
    assert not access.valid(tmp_path, "id", "user:alice", first[:-1] + "A") and not access.valid(tmp_path, "id", "user:alice", None)


# -- shares, deletes, exports ------------------------------------------------------------------


def test_share_links_copy_the_artifacts_and_deleting_ends_them(served):
    client, store, conversation, settings = served
    share = shares.create(store, conversation)
    copies = share.snapshot.messages[-1].artifacts
    originals = conversation.messages[-1].artifacts
    assert [a.kind for a in copies] == [a.kind for a in originals]
    assert {a.id for a in copies}.isdisjoint(a.id for a in originals)
    assert all(f"_shares/{share.id}" in a.path for a in copies)
    assert store.artifact(copies[0].id)[1].read_text() == PAGE
    continued = shares.copy_for(shares.get(store, share.id), "anon:bob", store.files_dir)
    store.save(continued)
    assert store.artifact(continued.messages[-1].artifacts[0].id)[1].parent == store.files_dir / continued.id

    shares.revoke(store, share.id, conversation.owner)
    assert store.artifact(copies[0].id) is None and not Path(copies[0].path).exists()
    store.delete(conversation.id)
    assert store.artifact(originals[0].id) is None and not Path(originals[0].path).exists()


def test_json_export_carries_the_artifacts_and_import_writes_them_anew(served, tmp_path):
    client, store, conversation, settings = served
    exported = history.to_json(conversation, store.files_dir)
    imported = history.from_json(exported.encode(), "anon:bob", store.files_dir)
    before, after = conversation.messages[-1].artifacts, imported.messages[-1].artifacts
    assert [(a.kind, a.title, a.block) for a in after] == [(a.kind, a.title, a.block) for a in before]
    assert Path(after[0].path).read_text() == PAGE and Path(after[0].path).parent == store.files_dir / imported.id
    assert {a.id for a in after}.isdisjoint(a.id for a in before)

    data = json.loads(exported)
    data["conversation"]["messages"][-1]["artifacts"][0]["content"] = 5
    with pytest.raises(history.ImportProblem, match="malformed previews"):
        history.from_json(json.dumps(data).encode(), "anon:bob", store.files_dir)
    assert "artifacts" not in history.to_json(conversation)  # no files folder named: none leave


def test_markdown_export_links_the_previews(served):
    client, store, conversation, settings = served
    text = history.to_markdown(conversation, lambda a: f"http://host/artifact/{a.id}")
    page = conversation.messages[-1].artifacts[0]
    assert f"- 🧩 Preview: [Solar & moon](http://host/artifact/{page.id})" in text
    assert "```html" in text  # the code itself is in the answer


def test_the_code_tab_shows_a_version_whole_or_cut_where_it_says_so(tmp_path):
    from glm4_app.ui import artifacts as ui_artifacts

    limit = ui_artifacts.CODE_CHARS
    whole, longer = tmp_path / "whole.html", tmp_path / "longer.html"
    whole.write_text("é" * limit)  # characters, not bytes
    longer.write_text("é" * limit + "x")
    assert ui_artifacts.read(str(whole)) == "é" * limit
    assert ui_artifacts.read(str(longer)) == "é" * limit + "\n… (the rest is in the download)"
    assert ui_artifacts.read(str(tmp_path / "gone.html")) == "(this file is no longer on disk)"
