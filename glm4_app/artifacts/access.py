"""Who may open ``/artifact/<id>``: whoever the page showed it to, and nobody else.

The page only draws a conversation (or a share link) its viewer may see, and gives each
preview a ticket: an HMAC, under a key kept in the data folder, of the artifact's id and the
viewer. The route works the viewer out of the request the same way (``viewer``) and serves
the artifact only when the ticket matches. So a leaked preview address opens for nobody
else (another user, a signed-out browser, a script elsewhere), and the ids themselves
(random, 128 bits) are never the only secret. Tickets do not expire: an address stays valid
for its viewer as long as that viewer's sign-in does (the route checks the session too).

The viewer is the owner key of glm4_app/identity.py: ``user:<name>`` (password and header
logins), ``anon:<digest>`` (the visitor cookie without a login); with OpenID Connect the
digest of Streamlit's signed user cookie, which the server cannot read but can compare.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from ..identity import identity_of
from ..settings import Settings

KEY_FILE = "artifact_key"
OIDC_COOKIE = "_streamlit_user"  # Streamlit's st.login cookie (server_util.AUTH_COOKIE_NAME)


def viewer(settings: Settings, cookies: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """Who a request (or a page's connection) comes from; "" for nobody known. ``headers``
    by lower-case name."""
    if settings.auth == "oidc":
        cookie = cookies.get(OIDC_COOKIE)
        return "oidc-cookie:" + hashlib.sha256(cookie.encode()).hexdigest()[:32] if cookie else ""
    found = identity_of(settings, cookies, headers)
    return found.owner if found is not None else ""


def ticket(data_dir: Path, artifact_id: str, who: str) -> str:
    digest = hmac.new(key(data_dir), f"{artifact_id}\n{who}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def valid(data_dir: Path, artifact_id: str, who: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(ticket(data_dir, artifact_id, who), given)


def address(data_dir: Path, artifact_id: str, who: str, download: bool = False) -> str:
    """The path of a preview (or its download) for this viewer."""
    tail = "&download=1" if download else ""
    return f"/artifact/{artifact_id}?t={ticket(data_dir, artifact_id, who)}{tail}"


@lru_cache(maxsize=8)
def key(data_dir: Path) -> bytes:
    """The signing key of this data folder, made on first use (readable by the app only),
    so tickets survive a restart and hold across several server processes."""
    path = Path(data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):  # another process may have made it a moment ago, still writing
            data = path.read_bytes()
            if len(data) >= 32:
                return data
            time.sleep(0.02)
        raise RuntimeError(f"{path} is damaged: delete it (preview addresses change)") from None
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return path.read_bytes()
