"""Hosted or local: whether people on other machines can reach this app.

Hosted mode turns on the kernel sandbox, and an open server without a login gets a loud
warning. Both ask the same question of Streamlit's ``server.address``.
"""

from __future__ import annotations

import ipaddress

from .settings import Settings

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def address_is_hosted(address: str | None) -> bool:
    """Whether a Streamlit server listening on ``address`` (``server.address``) is reachable
    from other machines. Empty means every interface (Streamlit's default), so hosted; only a
    loopback address keeps the app to this machine."""
    text = (address or "").strip().strip("[]").lower()
    if not text:
        return True
    if text in LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(text).is_loopback
    except ValueError:
        return True  # a host name other than localhost: reachable from elsewhere


def is_hosted(settings: Settings, address: str | None) -> bool:
    if settings.hosted == "auto":
        return address_is_hosted(address)
    return settings.hosted == "true"
