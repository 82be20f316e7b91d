"""Who is really asking: the peer, or what trusted proxies say in `X-Forwarded-For`."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

# The names of this machine's own loopback interface, as a URL or a Host header gives them.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# A chain longer than any real proxy path is noise; walking it all would be work for an attacker.
_MAX_HOPS = 32
# Answers are remembered for this many (peer, header) pairs, headers up to this long: parsing
# addresses was a few per cent of a cached lookup, and a bound keeps an attacker's variety of
# headers from growing memory (at most about 1.5 MB).
_REMEMBERED = 4096
_REMEMBERED_HEADER_LENGTH = 256


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDR strings (e.g. from ORDERGATE_TRUSTED_PROXIES) as networks; ValueError on a bad one."""
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)


def parse_ip(text: str) -> IPAddress | None:
    """The address in `text` ("v4", "v4:port", "v6", "[v6]:port"), an IPv4-mapped one as IPv4;
    None when it holds none."""
    candidate = text.strip()
    if candidate.startswith("[") and "]" in candidate:
        candidate = candidate[1 : candidate.index("]")]  # "[v6]" or "[v6]:port"
    elif candidate.count(":") == 1:
        candidate = candidate.split(":", 1)[0]  # "v4:port"
    try:
        ip = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def _trusted(ip: IPAddress, trusted: Sequence[Network]) -> bool:
    return any(ip.version == network.version and ip in network for network in trusted)


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    """The client's address: the peer, unless it is a trusted proxy (see `_client_address`)."""
    if forwarded_for is None or len(forwarded_for) <= _REMEMBERED_HEADER_LENGTH:
        return _remembered(peer, forwarded_for, trusted)
    return _client_address(peer, forwarded_for, trusted)


@functools.lru_cache(maxsize=_REMEMBERED)
def _remembered(
    peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]
) -> str | None:
    return _client_address(peer, forwarded_for, trusted)


def _client_address(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]
) -> str | None:
    """The client's address: the peer, unless it is a trusted proxy.

    Behind trusted proxies it is the right-most `X-Forwarded-For` entry that is not itself a
    trusted proxy: each proxy appends the address it saw, so entries further left were
    written by the client and prove nothing. An unreadable entry ends the walk at the last
    trusted hop, which is then the best address known. Pass every `X-Forwarded-For` header
    joined with ", " in the order received.
    """
    if peer is None:
        return None
    last = parse_ip(peer)
    if last is None or not _trusted(last, trusted):
        return str(last) if last is not None else peer
    entries = forwarded_for.split(",") if forwarded_for else []
    for entry in reversed(entries[-_MAX_HOPS:]):
        ip = parse_ip(entry)
        if ip is None:
            break
        last = ip
        if not _trusted(ip, trusted):
            break
    return str(last)
