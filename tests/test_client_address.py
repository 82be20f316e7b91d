"""The client address: the peer, or the right-most untrusted X-Forwarded-For entry."""

from __future__ import annotations

import pytest

from service.client_address import client_address, parse_networks

PROXIES = parse_networks(["10.0.0.0/8", "fd00::/8"])


def test_untrusted_peer_is_the_client() -> None:
    assert client_address("203.0.113.9", None, PROXIES) == "203.0.113.9"


def test_spoofed_header_from_an_untrusted_peer_changes_nothing() -> None:
    assert client_address("203.0.113.9", "1.2.3.4", PROXIES) == "203.0.113.9"


def test_header_is_ignored_when_no_proxy_is_trusted() -> None:
    assert client_address("10.0.0.5", "1.2.3.4", ()) == "10.0.0.5"


def test_trusted_peer_yields_the_address_it_appended() -> None:
    assert client_address("10.0.0.5", "198.51.100.7", PROXIES) == "198.51.100.7"


def test_entries_the_client_wrote_left_of_the_proxy_entry_are_ignored() -> None:
    forwarded = "1.2.3.4, 5.6.7.8, 198.51.100.7"
    assert client_address("10.0.0.5", forwarded, PROXIES) == "198.51.100.7"


def test_chains_of_trusted_proxies_are_walked_right_to_left() -> None:
    forwarded = "1.2.3.4, 198.51.100.7, 10.1.1.1, 10.2.2.2"
    assert client_address("10.0.0.5", forwarded, PROXIES) == "198.51.100.7"


def test_trusted_peer_without_header_is_the_client() -> None:
    assert client_address("10.0.0.5", None, PROXIES) == "10.0.0.5"


def test_garbage_entry_stops_at_the_last_trusted_hop() -> None:
    assert client_address("10.0.0.5", "198.51.100.7, not-an-ip", PROXIES) == "10.0.0.5"


def test_ports_and_brackets_are_stripped() -> None:
    assert client_address("10.0.0.5", "198.51.100.7:4711", PROXIES) == "198.51.100.7"
    assert client_address("10.0.0.5", "[2001:db8::1]:443", PROXIES) == "2001:db8::1"


def test_ipv6_proxies_are_trusted_by_network() -> None:
    assert client_address("fd00::1", "2001:db8::42", PROXIES) == "2001:db8::42"


def test_ipv4_mapped_peer_is_read_as_ipv4() -> None:
    assert client_address("::ffff:10.0.0.5", "198.51.100.7", PROXIES) == "198.51.100.7"


def test_addresses_are_normalised() -> None:
    assert client_address("2001:DB8:0::1", None, ()) == "2001:db8::1"


def test_missing_peer_is_unknown() -> None:
    assert client_address(None, "198.51.100.7", PROXIES) is None


def test_peer_that_is_not_an_ip_is_kept_as_is() -> None:
    assert client_address("testclient", "198.51.100.7", PROXIES) == "testclient"


def test_very_long_chain_is_cut_to_the_right_most_hops() -> None:
    forwarded = ", ".join(["10.9.9.9"] * 10_000)
    assert client_address("10.0.0.5", forwarded, PROXIES) == "10.9.9.9"


def test_bad_cidr_is_refused() -> None:
    with pytest.raises(ValueError, match="does not appear"):
        parse_networks(["10.0.0.0/33"])
