"""Conversations as trees: every Regenerate and every Edit is kept, as a sibling branch.

A conversation shows one branch, ``Conversation.messages`` (its first message to its last,
the leaf); the messages of the branches not shown wait in ``Conversation.others``. Each
message names its ``parent``, the message before it in its branch, so the two lists together
are a tree. ``relink`` writes the parents of the shown branch from its order: code that
appends to the branch or splices it (a turn writing its answer) knows nothing of trees.

The operations, all pure functions of a conversation:

- ``cut``: the branch shown ends before a message; what followed is kept (Regenerate).
- ``edit``: a new version of a user message, shown instead of the old one (Edit).
- ``switch``: show the branch through a message; below it, the branch shown there last.
- ``delete``: a message and everything below it, for good.
- ``children`` / ``versions``: the versions of a message in the order they were made (‹ 2/3 ›).
- ``problem``: why parent links read from a file do not make a tree (imports).

After ``edit``, ``switch`` and ``delete`` a title the user did not choose names the first
question of the branch shown.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from .messages import Message
from .notices import Notice

if TYPE_CHECKING:
    from .conversation import Conversation

ROOT = ""  # the parent of a conversation's first messages


def relink(c: "Conversation") -> None:
    """Parents of the shown branch from its order; remembers it as the choice at each message."""
    parent = ROOT
    for message in c.messages:
        message.parent = parent
        c.chosen[parent] = message.id
        parent = message.id


def every(c: "Conversation") -> list[Message]:
    return [*c.messages, *c.others]


def children(c: "Conversation") -> dict[str, list[Message]]:
    """Each message's children (ROOT: the first messages), oldest version first."""
    relink(c)
    kids: dict[str, list[Message]] = defaultdict(list)
    for message in every(c):
        kids[message.parent].append(message)
    for versions in kids.values():
        versions.sort(key=lambda m: m.created_at)  # stable: saved-before-trees ones keep their order
    return kids


def versions(kids: dict[str, list[Message]], message: Message) -> list[Message]:
    """The message and its siblings (other versions of it), oldest first."""
    return kids.get(message.parent) or [message]


def cut(c: "Conversation", index: int) -> list[Message]:
    """End the shown branch before ``messages[index]``; what followed stays in the tree."""
    relink(c)
    gone = c.messages[index:]
    del c.messages[index:]
    c.others.extend(gone)
    return gone


def edit(c: "Conversation", index: int, text: str, documents: list[dict] | None = None) -> Message | None:
    """A new version of the user message at ``index`` with ``text`` (and its documents, or
    ``documents``), shown from now on; the old version and its answers stay. None (nothing
    changes) for a blank text or a message that is not the user's."""
    if not 0 <= index < len(c.messages) or c.messages[index].role != "user" or not text.strip():
        return None
    old = c.messages[index]
    cut(c, index)
    kept = old.documents if documents is None else documents
    new = Message("user", text, images=list(old.images), pages=list(old.pages), documents=[dict(d) for d in kept])
    c.messages.append(new)
    relink(c)
    _retitle(c, _titled_automatically(c))
    return new


def switch(c: "Conversation", message_id: str) -> bool:
    """Show the branch through ``message_id``: its ancestors, it, then below it the branch
    chosen there last (the newest where none was). False if there is no such message."""
    kids = children(c)
    nodes = {m.id: m for m in every(c)}
    target = nodes.get(message_id)
    if target is None:
        return False
    path, node, seen = [], target, set()
    while node is not None and node.id not in seen:
        seen.add(node.id)
        path.append(node)
        node = nodes.get(node.parent)
    path.reverse()
    node = target
    while kids.get(node.id):
        options = kids[node.id]
        node = next((k for k in options if k.id == c.chosen.get(node.id)), options[-1])
        if node.id in seen:
            break
        seen.add(node.id)
        path.append(node)
    _show(c, path)
    return True


def delete(c: "Conversation", message_id: str) -> bool:
    """Delete a message and everything below it. When it was shown, the conversation shows
    its previous version instead (or the next), or ends where it was if it had none."""
    kids = children(c)
    nodes = {m.id: m for m in every(c)}
    target = nodes.get(message_id)
    if target is None:
        return False
    automatic = _titled_automatically(c)  # asked before the version that made the title is gone
    doomed, stack = set(), [message_id]
    while stack:
        current = stack.pop()
        if current not in doomed:
            doomed.add(current)
            stack += [k.id for k in kids.get(current, ())]
    siblings = versions(kids, target)
    at = siblings.index(target)
    neighbour = (siblings[at - 1] if at else siblings[1]) if len(siblings) > 1 else None
    shown = any(m.id == message_id for m in c.messages)
    c.others = [m for m in c.others if m.id not in doomed]
    if shown:
        del c.messages[next(i for i, m in enumerate(c.messages) if m.id == message_id) :]
    c.chosen = {k: v for k, v in c.chosen.items() if k not in doomed and v not in doomed}
    if shown and neighbour is not None:
        switch(c, neighbour.id)
    relink(c)
    _retitle(c, automatic)
    return True


def _show(c: "Conversation", path: list[Message]) -> None:
    automatic = _titled_automatically(c)
    ids = {m.id for m in path}
    c.others = [m for m in every(c) if m.id not in ids]
    c.messages[:] = path
    relink(c)
    _retitle(c, automatic)


def _first_question(c: "Conversation") -> Message | None:
    return next((m for m in c.messages if m.role == "user"), None)


def _titled_automatically(c: "Conversation") -> bool:
    """Whether the title is one the user did not choose: made from some version of the
    first question (whichever is shown now)."""
    from .conversation import auto_title  # (conversation.py imports this module)

    first = _first_question(c)
    return first is not None and any(
        c.title == auto_title(m.content) for m in versions(children(c), first) if m.role == "user"
    )


def _retitle(c: "Conversation", automatic: bool) -> None:
    """An automatic title names the version of the first question shown, so a conversation
    (and a share of it) never bears a question its branch does not hold; a title the user
    gave never changes."""
    from .conversation import DEFAULT_TITLE, auto_title

    if automatic:
        first = _first_question(c)
        c.title = auto_title(first.content) if first is not None else DEFAULT_TITLE


def problem(ids: list[str], parents: list[str], leaf: str) -> Notice | None:
    """Why these messages (``ids[i]`` with parent ``parents[i]``) do not make a tree with
    ``leaf`` shown, for the user; None when they do. Numbers count from 1, as in the file."""
    index = {}
    for i, message_id in enumerate(ids, 1):
        if not message_id:
            return Notice("tree.no_id", number=i)
        if message_id in index:
            return Notice("tree.same_id", number=i, other=index[message_id])
        index[message_id] = i
    parent_of = dict(zip(ids, parents))
    for i, parent in enumerate(parents, 1):
        if parent and parent not in index:
            return Notice("tree.unknown_parent", number=i)
    state: dict[str, int] = {}  # 1: being walked, 2: leads to a first message
    for start in ids:
        trail = []
        node = start
        while node and state.get(node) != 2:
            if state.get(node) == 1:
                return Notice("tree.loop", number=index[node])
            state[node] = 1
            trail.append(node)
            node = parent_of[node]
        for node in trail:
            state[node] = 2
    if leaf and leaf not in index:
        return Notice("tree.unknown_leaf")
    return None
