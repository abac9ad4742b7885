"""The client-address rule (``authspec.clientip``), the ``AUTHSPEC_TRUSTED_PROXIES`` setting and the
per-IP limit buckets: which address a request is counted and recorded as, peer by peer, header by header."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from authspec.clientip import client_address, forwarded_for_hops, parse_address, parse_trusted_proxies
from authspec.services.auth import ip_bucket
from authspec.settings import Settings, describe_errors
from tests.helpers import clean_env

PROXIES = parse_trusted_proxies("10.0.0.0/8, 192.0.2.1, 2001:db8:ffff::/48")


def scope(peer: str | None, *headers: tuple[str, str]) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 4711) if peer is not None else None,
        "headers": [(name.lower().encode(), value.encode("latin-1")) for name, value in headers],
    }


def xff(value: str) -> tuple[str, str]:
    return ("X-Forwarded-For", value)


def fwd(value: str) -> tuple[str, str]:
    return ("Forwarded", value)


# -- the setting ------------------------------------------------------------------------------------------------


def test_the_setting_reads_ips_and_cidrs_of_both_families(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSPEC_TRUSTED_PROXIES", " 127.0.0.1, 10.0.0.0/8,,2001:db8::/32 , ::1 ")
    assert [str(n) for n in Settings().trusted_proxies] == ["127.0.0.1/32", "10.0.0.0/8", "2001:db8::/32", "::1/128"]


def test_the_setting_defaults_to_no_trusted_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTHSPEC_TRUSTED_PROXIES", raising=False)
    assert Settings().trusted_proxies == ()


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (
            "10.0.0.1, proxy.internal",
            "AUTHSPEC_TRUSTED_PROXIES: 'proxy.internal' is not an IP address or a CIDR network",
        ),
        ("300.1.2.3", "AUTHSPEC_TRUSTED_PROXIES: '300.1.2.3' is not an IP address or a CIDR network"),
        ("10.0.0.0/33", "AUTHSPEC_TRUSTED_PROXIES: '10.0.0.0/33' is not an IP address or a CIDR network"),
        ("10.0.0.1/8", "AUTHSPEC_TRUSTED_PROXIES: '10.0.0.1/8' has host bits set; the network is 10.0.0.0/8"),
        (
            "2001:db8::1/64",
            "AUTHSPEC_TRUSTED_PROXIES: '2001:db8::1/64' has host bits set; the network is 2001:db8::/64",
        ),
    ],
)
def test_an_invalid_entry_is_one_line_naming_the_setting_and_the_entry(
    monkeypatch: pytest.MonkeyPatch, value: str, line: str
) -> None:
    monkeypatch.setenv("AUTHSPEC_TRUSTED_PROXIES", value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    assert describe_errors(caught.value) == [line]


def test_serve_with_an_invalid_entry_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    env = clean_env(AUTHSPEC_TRUSTED_PROXIES="10.0.0.0/8,nginx", AUTHSPEC_DATABASE_URL=f"sqlite:///{tmp_path}/x.db")
    done = subprocess.run(
        [sys.executable, "-m", "authspec.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "authspec serve: AUTHSPEC_TRUSTED_PROXIES: 'nginx' is not an IP address or a CIDR network"
    ]


def test_ipv4_mapped_networks_are_trusted_as_ipv4() -> None:
    [network] = parse_trusted_proxies("::ffff:10.0.0.0/104")
    assert str(network) == "10.0.0.0/8"
    assert client_address(scope("10.1.1.1", xff("198.51.100.4")), [network]) == "198.51.100.4"


# -- the rule ---------------------------------------------------------------------------------------------------


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address(scope("10.0.0.5", xff("198.51.100.4"), fwd("for=198.51.100.5")), ()) == "10.0.0.5"


def test_an_untrusted_peer_changes_nothing_whatever_it_sends() -> None:
    request = scope("203.0.113.9", xff("198.51.100.4"), fwd("for=198.51.100.5"))
    assert client_address(request, PROXIES) == "203.0.113.9"


def test_a_trusted_peer_forwards_its_client() -> None:
    assert client_address(scope("192.0.2.1", xff("198.51.100.4")), PROXIES) == "198.51.100.4"


def test_a_peer_inside_a_trusted_cidr_is_trusted() -> None:
    assert client_address(scope("10.200.3.4", xff("198.51.100.4")), PROXIES) == "198.51.100.4"


def test_a_trusted_peer_without_headers_is_the_client() -> None:
    assert client_address(scope("10.0.0.5"), PROXIES) == "10.0.0.5"


def test_the_right_most_untrusted_hop_is_the_client_not_what_the_client_claims() -> None:
    # The client sent "X-Forwarded-For: 1.1.1.1"; the edge proxy appended its peer, an inner proxy its own.
    request = scope("10.0.0.5", xff("1.1.1.1, 198.51.100.4, 10.0.0.9"))
    assert client_address(request, PROXIES) == "198.51.100.4"


def test_every_instance_of_the_header_is_one_list_in_order() -> None:
    request = scope("10.0.0.5", xff("1.1.1.1"), xff("198.51.100.4, 10.0.0.7"), xff("10.0.0.9"))
    assert client_address(request, PROXIES) == "198.51.100.4"


def test_when_every_hop_is_trusted_the_left_most_is_the_client() -> None:
    assert client_address(scope("10.0.0.5", xff("10.9.9.9, 192.0.2.1, 10.0.0.7")), PROXIES) == "10.9.9.9"


def test_ipv6_peers_clients_and_proxies() -> None:
    request = scope("2001:db8:ffff:1::2", xff("2001:db8:1:2::abcd, [2001:db8:ffff::7]:443"))
    assert client_address(request, PROXIES) == "2001:db8:1:2::abcd"


def test_ports_are_dropped_from_forwarded_addresses() -> None:
    assert client_address(scope("10.0.0.5", xff("198.51.100.4:5123")), PROXIES) == "198.51.100.4"
    assert client_address(scope("10.0.0.5", xff("[2001:db8::1]:5123")), PROXIES) == "2001:db8::1"


def test_ipv4_mapped_addresses_are_ipv4_for_trust_and_in_the_result() -> None:
    assert client_address(scope("::ffff:10.0.0.5", xff("::ffff:198.51.100.4")), PROXIES) == "198.51.100.4"
    assert client_address(scope("::ffff:203.0.113.9"), PROXIES) == "203.0.113.9"


def test_addresses_come_out_in_canonical_form() -> None:
    assert client_address(scope("10.0.0.5", xff("2001:DB8:0:0::1")), PROXIES) == "2001:db8::1"


@pytest.mark.parametrize(
    "value",
    ["garbage", "198.51.100.4, not-an-ip", "198.51.100.4, 1.2.3", "[2001:db8::1", "[198.51.100.4]", "1.2.3.4:99999"],
)
def test_a_malformed_hop_where_the_client_should_be_leaves_the_peer(value: str) -> None:
    assert client_address(scope("10.0.0.5", xff(value)), PROXIES) == "10.0.0.5"


def test_a_malformed_hop_left_of_the_client_is_never_read() -> None:
    assert client_address(scope("10.0.0.5", xff("garbage, 198.51.100.4")), PROXIES) == "198.51.100.4"


def test_empty_list_elements_are_skipped() -> None:
    assert client_address(scope("10.0.0.5", xff(" , 198.51.100.4,, ")), PROXIES) == "198.51.100.4"
    assert client_address(scope("10.0.0.5", xff("")), PROXIES) == "10.0.0.5"


def test_a_non_ip_peer_is_kept_as_it_is() -> None:
    assert client_address(scope("testclient", xff("198.51.100.4")), PROXIES) == "testclient"
    assert client_address(scope(None, xff("198.51.100.4")), PROXIES) is None


def test_a_long_chain_of_trusted_hops_resolves_to_the_right_most_untrusted() -> None:
    chain = ", ".join(["10.0.0.1"] * 2000 + ["198.51.100.4"])
    assert client_address(scope("10.0.0.5", xff(chain)), PROXIES) == "198.51.100.4"


# -- Forwarded (RFC 7239) ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "client"),
    [
        ("for=198.51.100.4", "198.51.100.4"),
        ("For=198.51.100.4;proto=https;by=10.0.0.5", "198.51.100.4"),
        ('for="198.51.100.4:4711"', "198.51.100.4"),
        ('for="[2001:db8::1]:4711"', "2001:db8::1"),
        ('for="[2001:db8::1]"', "2001:db8::1"),
        ('for="[2001:db8::1]:_port1"', "2001:db8::1"),
        ('for="2001:db8::1"', "2001:db8::1"),  # unbracketed in quotes: lenient, it means nothing else
        ("for=1.1.1.1, for=198.51.100.4;proto=http, for=10.0.0.9", "198.51.100.4"),
        ('for=198.51.100.4;host="a,b;c=d";proto=https', "198.51.100.4"),  # separators inside quotes
        ('for="\\198.51.100.4"', "198.51.100.4"),  # a quoted-pair
        ("for=10.9.9.9, for=10.0.0.7", "10.9.9.9"),  # all trusted: the left-most
        (" for=198.51.100.4 ;; proto=https , ", "198.51.100.4"),
    ],
)
def test_forwarded_for_from_a_trusted_peer(value: str, client: str) -> None:
    assert client_address(scope("10.0.0.5", fwd(value)), PROXIES) == client


def test_forwarded_instances_are_one_list_in_order() -> None:
    request = scope("10.0.0.5", fwd("for=1.1.1.1"), fwd("for=198.51.100.4"), fwd("for=10.0.0.7"))
    assert client_address(request, PROXIES) == "198.51.100.4"


@pytest.mark.parametrize(
    "value",
    [
        "for=unknown",  # the proxy does not know its client
        "for=_hidden",  # an obfuscated identifier
        'for="_gazonk"',
        "for=198.51.100.4, for=unknown",  # the hop nearest the proxy is unknown: nothing left of it counts
        "proto=https",  # an element without for=
    ],
)
def test_an_unknown_or_obfuscated_client_leaves_the_peer(value: str) -> None:
    assert client_address(scope("10.0.0.5", fwd(value)), PROXIES) == "10.0.0.5"


@pytest.mark.parametrize(
    "value",
    [
        "for=2001:db8::1",  # IPv6 must be quoted: ':' is not a token character
        'for="198.51.100.4',  # an unterminated quoted string
        "for=198.51.100.4;for=198.51.100.5",  # a parameter twice in one element
        "for=198.51.100.4 proto=https",  # two pairs without a separator
        "for",
        "=198.51.100.4",
        "for=198.51.100.4; by=[::1]",
    ],
)
def test_a_forwarded_header_that_does_not_parse_is_ignored(value: str) -> None:
    assert forwarded_for_hops([value]) is None
    assert client_address(scope("10.0.0.5", fwd(value)), PROXIES) == "10.0.0.5"


def test_one_malformed_forwarded_instance_voids_all_of_them() -> None:
    request = scope("10.0.0.5", fwd("for=198.51.100.4"), fwd("for=2001:db8::1"))
    assert client_address(request, PROXIES) == "10.0.0.5"


def test_x_forwarded_for_wins_over_forwarded_when_both_are_present() -> None:
    # nginx appends to X-Forwarded-For and passes a client's Forwarded through untouched.
    request = scope("10.0.0.5", fwd("for=1.1.1.1"), xff("198.51.100.4"))
    assert client_address(request, PROXIES) == "198.51.100.4"


def test_forwarded_is_not_consulted_when_x_forwarded_for_is_malformed() -> None:
    request = scope("10.0.0.5", xff("garbage"), fwd("for=198.51.100.4"))
    assert client_address(request, PROXIES) == "10.0.0.5"


@pytest.mark.parametrize(
    ("text", "address"),
    [("198.51.100.4", "198.51.100.4"), (" 2001:db8::1 ", "2001:db8::1"), ("[::1]:80", "::1"), ("1.2.3.4:0", "1.2.3.4")],
)
def test_parse_address(text: str, address: str) -> None:
    assert str(parse_address(text)) == address


# -- the per-IP limit buckets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "bucket"),
    [
        ("198.51.100.4", "198.51.100.4"),
        ("::ffff:198.51.100.4", "198.51.100.4"),
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        (None, "-"),
        ("testclient", "testclient"),
    ],
)
def test_limits_count_ipv4_by_address_and_ipv6_by_64(ip: str | None, bucket: str) -> None:
    assert ip_bucket(ip) == bucket
