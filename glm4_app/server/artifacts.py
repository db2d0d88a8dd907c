"""``GET /artifact/<id>?t=<ticket>``: the live preview of an artifact, in a sandbox of its own
(see glm4_app/artifacts/frames.py for the policy, artifacts/access.py for who may open it);
``&download=1`` gives the file itself. ``GET /artifact-lib/mermaid.min.js``: the mermaid
library the previews of diagrams use, served by the app (never fetched from a CDN).

An unknown id, a wrong ticket and a viewer who may not see it all get the same 404.
"""

from __future__ import annotations

import gzip
import re
from functools import lru_cache
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .. import shares
from .. import store as conversation_store
from ..artifacts import FRAMED, access, frames
from ..artifacts.saved import file_name
from ..messages import Artifact
from . import state

_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TYPES = {"html": "text/html", "svg": "image/svg+xml", "mermaid": "text/plain"}


def artifact(request: Request) -> Response:
    """A plain function: Starlette runs it in a worker thread, so the session lookup, the
    SQLite query and the file read never stall the event loop (every page's websocket)."""
    settings = state.settings()
    artifact_id = request.path_params["id"]
    who = access.viewer(settings, request.cookies, {k.lower(): v for k, v in request.headers.items()})
    if not _ID.fullmatch(artifact_id) or not access.valid(settings.data_dir, artifact_id, who, request.query_params.get("t")):
        return _not_found()
    store = conversation_store.shared(settings.database)
    # Nobody known ("") was shown it on a share link open to anyone; the ticket alone would
    # outlive that, so the link must still be open (not once GLM4_PUBLIC_SHARES is turned off).
    anyone = not who and settings.auth != "none"
    if anyone and not shares.artifact_open_to_anyone(store, artifact_id, settings.public_shares):
        return _not_found()
    found = store.artifact(artifact_id)
    if found is None or found[0] not in FRAMED:
        return _not_found()
    kind, path, title = found
    source = path.read_bytes()
    network = settings.artifact_network == "on"
    headers = frames.headers(kind, network)
    if request.query_params.get("download") == "1":
        name = file_name(Artifact(kind, title=title))
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return Response(source, headers=headers, media_type=_TYPES[kind])
    return Response(frames.document(kind, source, network), headers=headers, media_type="text/html; charset=utf-8")


async def mermaid(request: Request) -> Response:
    plain, packed = _mermaid()
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",  # the version is in the URL
        "X-Content-Type-Options": "nosniff",
        "Vary": "Accept-Encoding",
    }
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, headers=headers, media_type="text/javascript")
    return Response(plain, headers=headers, media_type="text/javascript")


@lru_cache(maxsize=1)
def _mermaid() -> tuple[bytes, bytes]:
    plain = frames.MERMAID_FILE.read_bytes()
    return plain, gzip.compress(plain, 6)


def _not_found() -> Response:
    return PlainTextResponse("Not found\n", 404, headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/artifact/{id}", artifact, methods=["GET", "HEAD"]),
    Route(frames.MERMAID_PATH, mermaid, methods=["GET", "HEAD"]),
]
