"""Messages for users as data: a kind and its values, worded only where they are shown.

Modules that know nothing of the UI (the engine, the document readers, the loaders, limits,
tools, the model-server client) say what happened as a ``Notice``, e.g.
``Notice("engine.context_too_long", tokens=9000, window=8192)``. The words live in one catalog
per language (glm4_app/locales/notices_en.py, notices_zh.py); ``word(notice, lang)`` puts them
together where the notice is shown, so a notice saved in a conversation reads in whatever
language its reader uses today. A value may itself be a notice (a reason inside a sentence),
worded in the same language; a list of values is joined the way the language joins lists.

``str(notice)`` is its English wording: for logs, the HTTP API's errors and what goes back to
the model (a tool's error), whose language is not the UI's.

Errors raised with a notice subclass ``NoticeError`` and carry it as ``.notice``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

Value = Any  # str | int | float | bool | None | Notice | tuple[Value, ...]
_PLAIN = (str, int, float, bool, type(None))


class Notice:
    """What happened, for a user: ``kind`` names the sentence, ``values`` fill it. Immutable."""

    __slots__ = ("kind", "_values")

    def __init__(self, kind: str, /, **values: Value) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "_values", tuple(sorted((k, _value(v)) for k, v in values.items())))

    @property
    def values(self) -> dict[str, Value]:
        return dict(self._values)

    def __setattr__(self, name, value):
        raise AttributeError("a Notice is immutable")

    def __eq__(self, other) -> bool:
        return isinstance(other, Notice) and (self.kind, self._values) == (other.kind, other._values)

    def __hash__(self) -> int:
        return hash((self.kind, self._values))

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self._values)
        return f"Notice({self.kind!r}{args})"

    def __str__(self) -> str:
        return word(self, "en")

    def __reduce__(self):  # pickled across the document readers' process boundary
        return (_rebuild, (self.kind, self.values))

    def with_values(self, **values: Value) -> "Notice":
        """The same notice with those of ``values`` it carries replaced (the others ignored):
        one piece of advice pointed at another setting."""
        return Notice(self.kind, **{k: values.get(k, v) for k, v in self._values})

    def to_data(self) -> dict:
        """JSON for a conversation file: ``{"kind": ..., "values": {...}}``."""
        return {"kind": self.kind, "values": {k: _to_data(v) for k, v in self._values}}


def _rebuild(kind: str, values: dict) -> Notice:
    return Notice(kind, **values)


def _value(value: Any) -> Value:
    if isinstance(value, (Notice, *_PLAIN)):
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_value(v) for v in value)
    return str(value)  # an exception, a path: its text


def _to_data(value: Value):
    if isinstance(value, Notice):
        return value.to_data()
    if isinstance(value, tuple):
        return [_to_data(v) for v in value]
    return value


def _from_data(value):
    if isinstance(value, dict) and isinstance(value.get("kind"), str):
        values = value.get("values")
        values = values if isinstance(values, dict) else {}
        return Notice(value["kind"], **{str(k): _from_data(v) for k, v in values.items()})
    if isinstance(value, list):
        return tuple(_from_data(v) for v in value)
    return value


def from_data(data) -> Notice | str:
    """A stored message: a notice saved as data, or (older files) the English text as it was."""
    if isinstance(data, Notice):
        return data
    if isinstance(data, dict):
        found = _from_data(data)
        return found if isinstance(found, Notice) else str(data)
    return "" if data is None else str(data)


def stored(message: Notice | str):
    """How a conversation file keeps a message (see ``from_data``)."""
    return message.to_data() if isinstance(message, Notice) else message


class NoticeError(Exception):
    """An error whose words are a ``Notice`` (``.notice``); ``str()`` is the English. Text
    stands in where a notice came back as text (a worker of an older version)."""

    def __init__(self, notice: Notice | str) -> None:
        super().__init__(notice)
        self.notice = notice

    def __str__(self) -> str:
        return str(self.notice)


def of(message) -> Notice | str:
    """The notice behind what a module handed over: a notice, an error carrying one, or text
    (an exception's own text, an English sentence from an older conversation file)."""
    if isinstance(message, Notice):
        return message
    found = getattr(message, "notice", None)
    if isinstance(found, Notice):
        return found
    return "" if message is None else str(message)


# -- Wording --------------------------------------------------------------------------------

_LIST_SEPARATORS = {"en": ", ", "zh": "、"}


@lru_cache(maxsize=None)
def catalog(lang: str) -> Mapping[str, str]:
    if lang == "zh":
        from .locales.notices_zh import NOTICES
    else:
        from .locales.notices_en import NOTICES
    return NOTICES


def word(message, lang: str) -> str:
    """``message`` (a notice, an error carrying one, or plain text) worded in ``lang``.
    A kind without words in ``lang`` falls back to English; one unknown to both shows its
    kind and values rather than nothing."""
    message = of(message)
    if not isinstance(message, Notice):
        return message
    values = {k: _worded(v, lang) for k, v in message._values}
    for language in dict.fromkeys((lang, "en")):
        template = catalog(language).get(message.kind)
        if template is None:
            continue
        try:
            return template.format(**values).strip()
        except (KeyError, IndexError, ValueError):
            continue  # a saved notice from another version of the app: try plainer words
    shown = ", ".join(f"{k}={v}" for k, v in values.items())
    return f"{message.kind} ({shown})" if shown else message.kind


def _worded(value: Value, lang: str):
    if isinstance(value, Notice):
        return word(value, lang)
    if isinstance(value, tuple):
        return _LIST_SEPARATORS.get(lang, ", ").join(str(_worded(v, lang)) for v in value)
    return value
