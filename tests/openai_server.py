"""A real HTTP server on 127.0.0.1 that speaks vLLM's OpenAI-compatible streaming protocol.

It answers ``GET /v1/models`` (with vLLM's ``max_model_len`` and ``root``) and streams
``POST /v1/completions`` / ``/v1/chat/completions`` replies scripted as raw GLM outputs:
chunked transfer encoding, ``data: {json}`` events, a final chunk with ``finish_reason`` and
``stop_reason``, a usage chunk with empty ``choices`` (``stream_options.include_usage``), then
``data: [DONE]``. Replies can also fail: an HTTP error status, a dropped connection, silence
(for timeouts) or an endless stream (to see the client hang up).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    text: str = ""  # the raw model output, sent in ``chunk_chars`` pieces
    chunk_chars: int = 4
    finish_reason: str = "stop"
    stop_reason: int | None = None  # vLLM: the stop token id that ended the output
    completion_tokens: int | None = None  # default: one per piece
    status: int = 200
    error: str = ""  # the message of an error status
    drop_after: int | None = None  # pieces sent before the connection is cut
    drop_cleanly: bool = False  # end the body properly, only without [DONE] (a proxy cutting)
    silent_s: float = 0.0  # wait this long before answering (the client should time out)
    endless: bool = False  # stream until the client hangs up
    # Chat completions only: the ``delta`` of each chunk as given (content, reasoning_content,
    # tool_calls pieces...), sent instead of ``text``; pieces of ``drop_after`` count these.
    deltas: list[dict] | None = None

    def pieces(self) -> list:
        if self.deltas is not None:
            return list(self.deltas)
        return [self.text[i : i + self.chunk_chars] for i in range(0, len(self.text), self.chunk_chars)]


@dataclass
class Recorded:
    path: str
    headers: dict
    body: dict


class OpenAIServer:
    def __init__(
        self,
        model: str = "glm-test",
        max_model_len: int = 4096,
        api_key: str = "",
        root: str | None = None,  # vLLM: the checkpoint served under ``model``
        count_prompt: Callable[[str], int] = lambda prompt: len(prompt) // 4,
    ) -> None:
        self.model, self.max_model_len, self.api_key = model, max_model_len, api_key
        self.root = root or model
        self.count_prompt = count_prompt
        self.replies: list[Reply] = []
        self.models_status = 200  # another status: a server without a /models route
        self.requests: list[Recorded] = []
        self.hung_up = threading.Event()  # an endless stream saw the client go away
        self.release = threading.Event()  # ends a silent reply early (teardown)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def prompts(self) -> list[str]:
        return [r.body["prompt"] for r in self.requests if r.path.endswith("/completions") and "prompt" in r.body]


def _handler(server: OpenAIServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

        def _authorized(self) -> bool:
            if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                self._json(401, {"error": {"message": "Unauthorized", "type": "Unauthorized", "code": 401}})
                return False
            return True

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if not self._authorized():
                return
            if self.path != "/v1/models" or server.models_status != 200:
                self._json(server.models_status if server.models_status != 200 else 404, {"detail": "Not Found"})
                return
            card = {"id": server.model, "object": "model", "owned_by": "vllm", "root": server.root,
                    "max_model_len": server.max_model_len}
            self._json(200, {"object": "list", "data": [card]})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            server.requests.append(Recorded(self.path, dict(self.headers), body))
            if not self._authorized():
                return
            reply = server.replies[min(len(server.requests), len(server.replies)) - 1]
            if body.get("model") != server.model:
                message = f"The model `{body.get('model')}` does not exist."
                self._json(404, {"object": "error", "message": message, "type": "NotFoundError", "code": 404})
                return
            if reply.status != 200:
                self._json(reply.status, {"object": "error", "message": reply.error, "type": "Error", "code": reply.status})
                return
            if reply.silent_s:
                server.release.wait(reply.silent_s)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chat = self.path.endswith("/chat/completions")
            try:
                self._stream(reply, body, chat)
            except (BrokenPipeError, ConnectionResetError):
                server.hung_up.set()
            self.close_connection = True

        def _stream(self, reply: Reply, body: dict, chat: bool) -> None:
            if reply.endless:
                for _ in range(3000):  # bounded: a client that never hangs up fails its test
                    self._event(_chunk(chat, "x"))
                    time.sleep(0.01)
                return
            pieces = reply.pieces()
            for i, piece in enumerate(pieces):
                if reply.drop_after is not None and i == reply.drop_after:
                    if reply.drop_cleanly:
                        self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return  # cut: no [DONE] (and, unless clean, no terminating chunk)
                self._event(_chunk(chat, piece))
            self._event(_chunk(chat, "", reply.finish_reason, reply.stop_reason))
            prompt = body.get("prompt") or json.dumps(body.get("messages"))
            n_prompt = server.count_prompt(prompt)
            n_out = reply.completion_tokens if reply.completion_tokens is not None else len(pieces)
            usage = {"prompt_tokens": n_prompt, "completion_tokens": n_out, "total_tokens": n_prompt + n_out}
            self._event({"id": "cmpl-1", "object": "text_completion", "model": server.model, "choices": [], "usage": usage})
            self._write(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")

        def _event(self, payload: dict) -> None:
            self._write(f"data: {json.dumps(payload)}\n\n".encode())

        def _write(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _chunk(chat: bool, text, finish: str | None = None, stop_reason: int | None = None) -> dict:
    if chat:
        delta = text if isinstance(text, dict) else ({"content": text} if text else {})
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "stop_reason": stop_reason}
        return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [choice], "usage": None}
    choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish, "stop_reason": stop_reason}
    return {"id": "cmpl-1", "object": "text_completion", "choices": [choice], "usage": None}
