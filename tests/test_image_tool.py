"""The text-to-image tool against a real local HTTP server imitating an OpenAI-compatible
images API (Zhipu CogView / OpenAI): each scenario is a base-URL prefix on the same server."""

from __future__ import annotations

import base64
import json
import re
import socket
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from glm4_app.notices import word
from glm4_app.settings import Settings
from glm4_app.tools.base import ToolCall
from glm4_app.tools.image import GENERATED_TEXT, ImageTool, available

PROMPT = "A red fox sitting in fresh snow at dawn, soft golden light, watercolour style."


def tiny_png() -> bytes:
    """A real 1x1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


PNG = tiny_png()


def _lower(headers) -> dict:
    """Header names are case-insensitive: compare them in lower case."""
    return {name.lower(): value for name, value in headers.items()}


class FakeImagesAPI:
    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.release = threading.Event()  # ends the slow scenario's wait at teardown
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                api.requests.append(
                    {"method": "POST", "path": self.path, "headers": _lower(self.headers),
                     "json": json.loads(body)}
                )
                scenario = self.path.split("/")[1]
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                if scenario == "b64":
                    self.send_json(200, {"created": 1, "data": [
                        {"b64_json": base64.b64encode(PNG).decode()}]})
                elif scenario in ("url", "html", "big", "gone"):
                    name = {"url": "fox.png", "html": "page.html", "big": "big.png",
                            "gone": "missing.png"}[scenario]
                    self.send_json(200, {"created": 1, "data": [{"url": f"{base}/files/{name}"}]})
                elif scenario == "auth":
                    self.send_json(401, {"error": {"code": "1000", "message": "Invalid API key"}})
                elif scenario == "policy":
                    self.send_json(400, {"error": {"message": "The prompt was flagged"}})
                elif scenario == "boom":
                    self.send_raw(500, b"Internal Server Error", "text/plain")
                elif scenario == "slow":
                    api.release.wait(5)
                    self.send_json(200, {"data": [{"b64_json": base64.b64encode(PNG).decode()}]})
                elif scenario == "empty":
                    self.send_json(200, {"data": []})
                elif scenario == "notjson":
                    self.send_raw(200, b"<html>hello</html>", "text/html")
                elif scenario == "badb64":
                    self.send_json(200, {"data": [{"b64_json": "not base64 at all!"}]})
                else:
                    self.send_json(404, {"error": {"message": "no such scenario"}})

            def do_GET(self):
                api.requests.append(
                    {"method": "GET", "path": self.path, "headers": _lower(self.headers)}
                )
                if self.path == "/files/fox.png":
                    self.send_raw(200, PNG, "image/png")
                elif self.path == "/files/page.html":
                    self.send_raw(200, b"<!doctype html><p>Not an image</p>", "image/png")
                elif self.path == "/files/big.png":
                    self.send_raw(200, PNG + b"\x00" * 5000, "image/png")
                else:
                    self.send_raw(404, b"not found", "text/plain")

            def send_json(self, status, payload):
                self.send_raw(status, json.dumps(payload).encode(), "application/json")

            def send_raw(self, status, data, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def settings(self, scenario: str, **changes) -> Settings:
        return Settings(image_api_url=f"{self.base}/{scenario}", image_api_key="sk-test", **changes)


@pytest.fixture(scope="module")
def api():
    fake = FakeImagesAPI()
    fake.thread.start()
    yield fake
    fake.release.set()
    fake.server.shutdown()
    fake.server.server_close()


def generate(settings: Settings, cancel: threading.Event | None = None, **options):
    return ImageTool(settings, **options).run(
        ToolCall("cogview", PROMPT), cancel or threading.Event()
    )


def test_declaration_and_availability():
    assert ImageTool(Settings()).declaration() == {"type": "cogview"}
    assert ImageTool(Settings()).name == "cogview"
    assert str(available(Settings())) == "GLM4_IMAGE_API_URL is not set"
    assert "must be an http(s) URL" in str(available(Settings(image_api_url="open.bigmodel.cn/api")))
    assert available(Settings(image_api_url="https://open.bigmodel.cn/api/paas/v4")) is None


def test_not_configured_is_an_error_result():
    result = generate(Settings())
    assert result.is_error and "GLM4_IMAGE_API_URL is not set" in result.text


def test_b64_response(api):
    result = generate(api.settings("b64", image_model="cogview-3-flash"))
    assert not result.is_error, result.text
    assert result.metadata == "cogview_result"
    assert result.text == GENERATED_TEXT  # no URL to mention
    (image,) = result.images
    assert (image.data, image.mime, image.caption) == (PNG, "image/png", PROMPT)
    request = api.requests[-1]
    assert request["path"] == "/b64/images/generations"
    assert request["headers"]["authorization"] == "Bearer sk-test"
    assert request["json"] == {"model": "cogview-3-flash", "prompt": PROMPT}


def test_url_response_is_downloaded_without_the_api_key(api):
    result = generate(api.settings("url"))
    assert not result.is_error, result.text
    assert result.images[0].data == PNG
    url = f"{api.base}/files/fox.png"
    assert result.text == f"{GENERATED_TEXT}\nImage URL: {url}"
    assert url in result.shown
    download = api.requests[-1]
    assert download["method"] == "GET" and download["path"] == "/files/fox.png"
    assert "authorization" not in download["headers"]  # the key stays with the API


def test_trailing_slash_in_the_base_url(api):
    result = generate(Settings(image_api_url=f"{api.base}/b64/"))
    assert not result.is_error
    assert api.requests[-1]["path"] == "/b64/images/generations"
    assert "authorization" not in api.requests[-1]["headers"]  # no key configured, none sent


@pytest.mark.parametrize(
    "scenario, words",
    [
        ("auth", ["HTTP 401", "Invalid API key (code 1000)", "GLM4_IMAGE_API_KEY"]),
        ("policy", ["rejected the request (HTTP 400)", "The prompt was flagged"]),
        ("boom", ["image service failed (HTTP 500)", "Internal Server Error", "Try again later"]),
        ("empty", ["holds no image"]),
        ("notjson", ["not JSON", "text/html"]),
        ("badb64", ["not valid base64"]),
        ("html", ["not an image", "b'<!doctype html>"]),
        ("gone", ["could not be downloaded", "HTTP 404"]),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_failures_are_error_results_with_clear_words(api, scenario, words):
    result = generate(api.settings(scenario))
    assert result.is_error
    assert result.images == ()
    for expected in words:
        assert expected in result.text, result.text
    # The model reads the English; a user reading Chinese gets the same failure in Chinese.
    (notice,) = result.notices
    assert str(notice) == result.text
    chinese = word(notice, "zh")
    assert re.search("[\u4e00-\u9fff]", chinese) and chinese != result.text
    assert all(part in chinese for part in re.findall(r"HTTP \d+|GLM4_\w+", result.text))


def test_an_api_refusal_reads_in_chinese_with_the_apis_own_words(api):
    (notice,) = generate(api.settings("auth")).notices
    assert word(notice, "zh") == (
        "图像 API 拒绝了请求（HTTP 401）：Invalid API key (code 1000)。请检查 GLM4_IMAGE_API_KEY。"
    )


def test_download_size_cap(api):
    result = generate(api.settings("big"), max_image_bytes=1000)
    assert result.is_error and "larger than 1,000 bytes" in result.text


def test_connection_refused(api):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = generate(Settings(image_api_url=f"http://127.0.0.1:{port}/v1"))
    assert result.is_error
    assert f"Could not reach the image API at http://127.0.0.1:{port}/v1/images/generations" in (
        result.text
    )


def test_timeout(api):
    started = time.monotonic()
    result = generate(api.settings("slow"), timeout_s=0.5)
    assert time.monotonic() - started < 3
    assert result.is_error and result.text == "The image API did not answer within 0.5 s."


def test_cancel_returns_while_the_api_is_still_working(api):
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    result = generate(api.settings("slow"), cancel=cancel)
    assert time.monotonic() - started < 2
    assert result.is_error and result.text == "Image generation was stopped."


def test_empty_prompt(api):
    result = ImageTool(api.settings("b64")).run(ToolCall("cogview", "  \n"), threading.Event())
    assert result.is_error and "description is empty" in result.text
