"""The client's address behind reverse proxies: the one address per-IP limits, the session list and
the logs use. The TCP peer is the client, unless the peer is one of ``AUTHSPEC_TRUSTED_PROXIES``
(IPs and CIDRs, v4 and v6; none by default). Only then are proxy headers read, and one of them:
``X-Forwarded-For`` when the request carries it (every instance, in order, comma lists joined),
else ``Forwarded`` (RFC 7239, its ``for=`` parameters) — nginx, HAProxy, Envoy and cloud load
balancers set ``X-Forwarded-For`` and pass a client's own ``Forwarded`` through untouched, so that
one cannot override the header they vouch for (a proxy that sets only ``Forwarded`` must drop a
client's ``X-Forwarded-For``, as Keycloak's ``proxy-headers=forwarded`` assumes). The hops are
walked from the right, the one the nearest proxy added, past every trusted address; the first
that is not trusted is the client, and when every hop is trusted, the left-most. A hop that is
not an address where the client should be (malformed, ``unknown``, an obfuscated ``_name``), or
a header that does not parse, leaves the peer as the client: a proxy's bad header is never an
error, and a client never chooses its own address. IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``)
are their IPv4 address, for trust and in the result. uvicorn's ``proxy_headers`` stays off
(``authspec serve``), so this is the one place that decides.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

SETTING = "AUTHSPEC_TRUSTED_PROXIES"


def parse_trusted_proxies(entries: str | Iterable[object]) -> tuple[Network, ...]:
    """The networks of a comma-separated list of IPs and CIDRs (``10.0.0.0/8, 2001:db8::1``).

    An entry that is not an address or a network raises ``ValueError`` naming the setting and
    the entry; so does a CIDR with host bits set (``10.0.0.1/8``), which is usually a typo for a
    different network than the one it would silently become."""
    items = entries.split(",") if isinstance(entries, str) else entries
    networks: list[Network] = []
    for item in items:
        if isinstance(item, IPv4Network | IPv6Network):
            networks.append(item)
            continue
        entry = str(item).strip()
        if not entry:
            continue
        try:
            network = ip_network(entry, strict=True)
        except ValueError as exc:
            try:
                loose = ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{SETTING}: {entry!r} is not an IP address or a CIDR network") from exc
            raise ValueError(f"{SETTING}: {entry!r} has host bits set; the network is {loose}") from exc
        networks.append(_unmapped_network(network))
    return tuple(dict.fromkeys(networks))


def _unmapped_network(network: Network) -> Network:
    # ::ffff:10.0.0.0/104 trusts what 10.0.0.0/8 does: addresses are compared unmapped.
    if isinstance(network, IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            return IPv4Network((mapped, network.prefixlen - 96))
    return network


def _unmapped(address: Address) -> Address:
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_address(text: str) -> Address | None:
    """An IP address as proxies write one, or None: ``a.b.c.d``, ``a.b.c.d:port``, an IPv6
    address bare or in brackets, ``[v6]:port``."""
    text = text.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not _port(rest)):
            return None
        return _address(host, version=6)
    if text.count(":") == 1:  # a.b.c.d:port (an IPv6 address has at least two colons)
        host, _, port = text.partition(":")
        return _address(host, version=4) if _port(":" + port) else None
    return _address(text)


def _port(text: str) -> bool:
    # ":" port / obfport (RFC 7239 §6.3); proxies write only the digits in X-Forwarded-For.
    if re.fullmatch(r":[0-9]{1,5}", text):
        return int(text[1:]) <= 65535
    return bool(re.fullmatch(r":_[A-Za-z0-9._-]+", text))


def _address(text: str, version: int | None = None) -> Address | None:
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if version is not None and address.version != version:
        return None
    return _unmapped(address)


def forwarded_for_hops(values: Sequence[str]) -> list[str | None] | None:
    """The ``for=`` node of every element of ``Forwarded`` header values, left to right (None for
    an element without ``for``), or None when a value does not parse (RFC 7239 §4)."""
    hops: list[str | None] = []
    for value in values:
        elements = _forwarded_elements(value)
        if elements is None:
            return None
        hops.extend(element.get("for") for element in elements)
    return hops


_TCHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_PIECE = re.compile(rf"[ \t]*(?:({_TCHAR}+)=({_TCHAR}+|\"(?:[^\"\\]|\\.)*\")|([;,]))[ \t]*")


def _forwarded_elements(value: str) -> list[dict[str, str]] | None:
    elements: list[dict[str, str]] = []
    element: dict[str, str] = {}
    pos, end = 0, len(value)
    expect_separator = False
    while pos < end:
        match = _PIECE.match(value, pos)
        if match is None:
            return None
        pos = match.end()
        name, raw, separator = match.groups()
        if separator is not None:
            expect_separator = False
            if separator == ",":
                if element:  # empty list elements are allowed (RFC 9110 §5.6.1)
                    elements.append(element)
                element = {}
            continue
        name = name.lower()
        if expect_separator or name in element:  # two pairs without ";", or a parameter twice
            return None
        expect_separator = True
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        element[name] = raw
    if element:
        elements.append(element)
    return elements


def _forwarded_node(node: str | None) -> Address | None:
    # node = nodename [":" node-port]; nodename = IPv4 / "[" IPv6 "]" / "unknown" / obfnode. An
    # unbracketed IPv6 address (possible in quotes) is taken too: it cannot mean anything else.
    return parse_address(node) if node is not None else None


def _header_values(scope: dict[str, Any]) -> tuple[list[str], list[str]]:
    xff: list[str] = []
    forwarded: list[str] = []
    for name, value in scope.get("headers") or ():
        lowered = name.lower()
        if lowered == b"x-forwarded-for":
            xff.append(value.decode("latin-1"))
        elif lowered == b"forwarded":
            forwarded.append(value.decode("latin-1"))
    return xff, forwarded


def resolve(peer: str | None, xff: Sequence[str], forwarded: Sequence[str], trusted: Sequence[Network]) -> str | None:
    """The client's address for a request from ``peer`` with these header values (see the module)."""
    if not trusted:
        return _peer(peer) if peer else peer
    peer_address = _address(peer) if peer else None
    if peer_address is None:
        return peer  # no peer, or not an IP (a Unix socket, a test client's name): nothing to trust
    if not _trusted(peer_address, trusted):
        return str(peer_address)
    if xff:
        # Lazily from the right: a long list a client sent ahead of its own hop is never parsed.
        hops: Iterable[Address | None] = (
            parse_address(hop) for value in reversed(xff) for hop in reversed(value.split(",")) if hop.strip()
        )
    elif forwarded:
        nodes = forwarded_for_hops(forwarded)  # parsed whole: a value that does not parse is ignored
        hops = (_forwarded_node(node) for node in reversed(nodes or ()))
    else:
        hops = ()
    left_most: Address | None = None
    for hop in hops:
        if hop is None:
            return str(peer_address)
        if not _trusted(hop, trusted):
            return str(hop)
        left_most = hop
    # Every hop is a trusted proxy: the left-most is where the request came from.
    return str(left_most if left_most is not None else peer_address)


@functools.lru_cache(maxsize=4096)
def _peer(peer: str) -> str:
    """A peer's address as ``resolve`` gives it without trusted proxies (normalised when it is an
    IP), kept: the same clients come back on every request."""
    address = _address(peer)
    return peer if address is None else str(address)


def _trusted(address: Address, trusted: Sequence[Network]) -> bool:
    return any(address in network for network in trusted)


#: The scope key holding a request's resolved address: resolved once (by the outermost layer, the
#: request log), read by every later caller (the handlers' ``client()``), with the app's one list.
SCOPE_KEY = "authspec.client_ip"


def client_address(scope: dict[str, Any], trusted: Sequence[Network]) -> str | None:
    """The client's address of the ASGI HTTP ``scope``, given the trusted proxies (resolved once
    per request and kept in the scope under ``SCOPE_KEY``)."""
    if SCOPE_KEY in scope:
        cached: str | None = scope[SCOPE_KEY]
        return cached
    scope[SCOPE_KEY] = address = _resolve_scope(scope, trusted)
    return address


def _resolve_scope(scope: dict[str, Any], trusted: Sequence[Network]) -> str | None:
    client = scope.get("client")
    peer = str(client[0]) if client else None
    if not trusted:
        return resolve(peer, (), (), ())
    xff, forwarded = _header_values(scope)
    return resolve(peer, xff, forwarded, trusted)
