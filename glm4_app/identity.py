"""Who a request comes from, decided the same way by the server's routes and by the page.

Every identity has an owner key, the ``owner`` of the conversations, files, limits and API
keys that are theirs:

- ``user:<name>``: an account (``GLM4_AUTH=password``) or a user named by an authenticating
  proxy (``GLM4_AUTH=header``), names compared in lower case;
- ``oidc:<e-mail>``: an OpenID Connect user (``st.login``);
- ``anon:<digest>``: a browser without a login, recognised by a random cookie. The key is a
  digest of the cookie, so it can be shown or logged without letting anyone become that
  visitor; the cookie itself never names anyone.

Old ``?u=`` links (16 hex digits, the visitor key of earlier versions) are adopted once by the
visitor who opens them; keys of any other shape never are.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Mapping

from .auth import password_owner

if TYPE_CHECKING:
    from .settings import Settings

SESSION_COOKIE = "glm4_session"  # a sign-in session token (accounts.py stores its hash)
VISITOR_COOKIE = "glm4_visitor"  # a random id for a browser without a login
VISITOR_DAYS = 400  # browsers cap cookie lifetimes at 400 days

_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")
_LEGACY_LINK_KEY = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Identity:
    owner: str
    name: str = ""  # what the page shows ("" for an anonymous visitor)
    kind: str = "visitor"  # "account" | "header" | "oidc" | "visitor" | "link"
    role: str = "user"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_visitor_token() -> str:
    return secrets.token_urlsafe(32)


def visitor_identity(cookie: str | None) -> Identity | None:
    """The anonymous visitor a ``glm4_visitor`` cookie stands for; None for a malformed one."""
    if not cookie or not _TOKEN.fullmatch(cookie):
        return None
    return Identity("anon:" + hashlib.sha256(cookie.encode()).hexdigest()[:32])


def header_identity(value: str | None) -> Identity | None:
    """The user an authenticating proxy names (an e-mail, a login); None when it names nobody."""
    value = (value or "").strip()
    if not value or len(value) > 254 or any(c.isspace() or not c.isprintable() for c in value):
        return None
    return Identity(password_owner(value), value, "header")


def identity_of(settings: "Settings", cookies: Mapping[str, str], headers: Mapping[str, str]) -> Identity | None:
    """Who a request or a page's connection comes from (``headers`` by lower-case name): the
    signed-in account, the user a trusted proxy names, or a browser's visitor without a login.
    None for nobody known, and always under ``oidc``, whose user Streamlit knows (``st.user``)."""
    if settings.auth == "password":
        from .accounts import store_for

        user = store_for(settings).session_user(cookies.get(SESSION_COOKIE))
        return Identity(user.owner, user.name, "account", user.role) if user else None
    if settings.auth == "header":
        return header_identity(headers.get(settings.auth_header.lower()))
    if settings.auth == "none":
        return visitor_identity(cookies.get(VISITOR_COOKIE))
    return None


def adoptable_link_key(key: str | None) -> bool:
    """Whether a ``?u=`` value is an old visitor link whose conversations may be adopted."""
    return bool(key) and _LEGACY_LINK_KEY.fullmatch(key) is not None


@lru_cache(maxsize=4)
def proxy_networks(setting: str) -> tuple[tuple, tuple[str, ...]]:
    """(networks, entries that are not addresses) of ``GLM4_TRUSTED_PROXIES``."""
    networks, bad = [], []
    for entry in filter(None, (e.strip() for e in setting.split(","))):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            bad.append(entry)
    return tuple(networks), tuple(bad)


def from_trusted_proxy(address: str | None, networks: tuple) -> bool:
    """Whether a connection from ``address`` may name its user in the identity header."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)
