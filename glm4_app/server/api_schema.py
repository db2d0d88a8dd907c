"""What ``POST /v1/chat/completions`` accepts (pydantic, OpenAI's field names) and the
OpenAI-style error bodies every refusal of the API uses."""

from __future__ import annotations

import math
from typing import Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.responses import JSONResponse

NAME_PATTERN = r"^[A-Za-z_][\w.\-]{0,63}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")  # OpenAI adds fields; unknown ones are not errors


class ImageURL(_Model):
    url: str
    detail: str | None = None


class ContentPart(_Model):
    type: Literal["text", "image_url"]
    text: str | None = None
    image_url: ImageURL | None = None


class FunctionCall(_Model):
    name: str
    arguments: str = ""


class ToolCallIn(_Model):
    id: str | None = None
    type: Literal["function"] = "function"
    function: FunctionCall


class Message(_Model):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Union[str, list[ContentPart], None] = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    # The thinking of an earlier step of the answer being written: GLM-4.5's template keeps it
    # for the turns after the last user message (clients echo it back, as with vLLM).
    reasoning_content: str | None = None


class FunctionSpec(_Model):
    name: str = Field(pattern=NAME_PATTERN)
    description: str | None = None
    parameters: dict | None = None


class Tool(_Model):
    type: Literal["function"]
    function: FunctionSpec


class NamedFunction(_Model):
    name: str


class NamedToolChoice(_Model):
    type: Literal["function"]
    function: NamedFunction


class StreamOptions(_Model):
    include_usage: bool = False


class TemplateOptions(_Model):
    """``chat_template_kwargs``, as vLLM and SGLang take it for GLM-4.5 and later."""

    enable_thinking: bool | None = None  # False: answer at once (GenerationParams.thinking)


class ChatRequest(_Model):
    model: str
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    seed: int | None = None
    stop: Union[str, list[str], None] = None
    tools: list[Tool] | None = None
    tool_choice: Union[Literal["none", "auto", "required"], NamedToolChoice, None] = None
    n: int = Field(default=1, ge=1, le=1)  # one choice per request
    chat_template_kwargs: TemplateOptions | None = None

    def stop_list(self) -> list[str]:
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return [s for s in stops if s][:4]


def problem(err: ValidationError) -> tuple[str, str]:
    """(message, param) of the first validation error, in OpenAI's words."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"Invalid value for '{where}': {first['msg']}.", where


# -- Errors ------------------------------------------------------------------------------------

_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    429: "requests",
    500: "server_error",
    503: "server_error",
}


def error_body(
    message: str, status: int, code: str | None = None, param: str | None = None
) -> dict:
    return {
        "error": {
            "message": message,
            "type": _TYPES.get(status, "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


def error(
    status: int,
    message: str,
    code: str | None = None,
    param: str | None = None,
    retry_after: float | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    headers = dict(headers or {})
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="glm4"'
    return JSONResponse(error_body(message, status, code, param), status, headers=headers)


class ApiError(Exception):
    """A refused request, raised wherever it is found; the route answers ``response()``."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        param: str | None = None,
        retry_after: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.param, self.retry_after = status, code, param, retry_after
        self.headers = headers

    def response(self) -> JSONResponse:
        return error(self.status, str(self), self.code, self.param, self.retry_after, self.headers)
