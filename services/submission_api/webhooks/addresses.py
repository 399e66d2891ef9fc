"""Whether a callback host is internal: checked at upload, and again just before every delivery."""
from __future__ import annotations

import ipaddress
import socket


class Unresolvable(Exception):
    """The host has no address: a delivery fails closed rather than guessing."""


def resolve(host: str) -> set[str]:
    try:
        return {info[4][0].split("%")[0] for info in socket.getaddrinfo(host, None)}
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise Unresolvable(f"the host {host!r} does not resolve ({error})") from None


def internal_address(host: str) -> str | None:
    """The first loopback, private, link-local or otherwise non-global address ``host`` resolves to; None if it
    resolves to public addresses only, or (at upload) does not resolve."""
    try:
        addresses = resolve(host)
    except Unresolvable:
        return None
    return next((address for address in sorted(addresses) if not ipaddress.ip_address(address).is_global), None)


def check_send_time(host: str) -> None:
    """Raise Unresolvable or ValueError unless every address of ``host`` is public."""
    for address in sorted(resolve(host)):
        if not ipaddress.ip_address(address).is_global:
            raise ValueError(f"the host {host!r} resolves to the internal address {address}; the platform does "
                             "not send webhooks inside its own network")
