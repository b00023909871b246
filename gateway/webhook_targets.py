"""Where a webhook may be sent: public addresses only, unless the deployment allows a host.

A `webhook_url` is chosen by whoever submits a job, and a worker inside the cluster POSTs to it:
without a check, anyone can make the workers talk to Redis, the services, or a cloud metadata
address (blind SSRF). So a target must be a global unicast address. The check runs twice:

- at `POST /jobs` on the URL as written: IP literals in every spelling the resolver accepts
  (`2130706433`, `0x7f.1`, `0177.0.0.1`, `[::ffff:127.0.0.1]`, ...) and names that mean this
  machine (`localhost`, `*.localhost`, trailing dots) are refused with a 422;
- at delivery, on every address the host resolves to; the connection then goes to the checked
  address itself (Host header and TLS SNI keep the name), so DNS cannot answer differently
  between the check and the connect (rebinding).

`webhook_allow_hosts` (IMAGEWAVE_WEBHOOK_ALLOW_HOSTS, comma-separated host names, addresses or
networks such as `hooks.internal,10.1.0.0/16`) admits internal receivers a deployment trusts.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from imagewave.errors import InvalidInput

FIELD = "options.webhook_url"
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# host, port → the addresses it resolves to (a seam: tests answer without DNS).
Resolver = Callable[[str, int], Sequence[str]]
# Prefixes that embed an IPv4 address in an IPv6 one; the embedded address is what is reached.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


class WebhookTargetRefused(InvalidInput):
    code = "webhook_target_refused"

    def __init__(self, message: str) -> None:
        super().__init__(f"{FIELD}: {message}", field=FIELD)


@dataclass(frozen=True)
class WebhookTarget:
    """A parsed target: scheme, normalized host (no brackets, no trailing dot), port."""

    scheme: str
    host: str
    port: int


@dataclass(frozen=True)
class AllowList:
    names: frozenset[str]
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        names, networks = set(), []
        for entry in entries:
            entry = entry.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry)
        return cls(frozenset(names), tuple(networks))

    def admits_name(self, host: str) -> bool:
        return host in self.names

    def admits_address(self, address: IpAddress) -> bool:
        candidates = {address, effective_address(address)}
        return any(a.version == n.version and a in n for a in candidates for n in self.networks)


def parse_target(url: str) -> WebhookTarget:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookTargetRefused(f"not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https"):
        raise WebhookTargetRefused("must be an http or https URL")
    if parts.username is not None or parts.password is not None:
        raise WebhookTargetRefused("must not carry credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise WebhookTargetRefused("has no host")
    return WebhookTarget(parts.scheme, host, port or (443 if parts.scheme == "https" else 80))


def ip_literal(host: str) -> IpAddress | None:
    """The address a host written as an IP literal means, in any spelling; None for names."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 zone id changes nothing
    except ValueError:
        pass
    # The forms the C resolver (inet_aton) accepts too: 2130706433, 0x7f000001, 0177.1, 127.1.
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except (OSError, ValueError):
        return None


def effective_address(address: IpAddress) -> IpAddress:
    """IPv4 addresses carried inside IPv6 ones (mapped, compatible, NAT64, 6to4) are what a
    connection reaches: check those."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        packed = int(address)
        if packed >> 32 == 0 and packed > 1:  # deprecated IPv4-compatible ::a.b.c.d
            return ipaddress.IPv4Address(packed)
    return address


def refusal(address: IpAddress) -> str | None:
    """Why a connection to `address` is refused, or None for a public unicast address."""
    inner = effective_address(address)
    for kind, flag in (("unspecified", inner.is_unspecified), ("loopback", inner.is_loopback),
                       ("link-local", inner.is_link_local), ("multicast", inner.is_multicast),
                       ("private", inner.is_private), ("reserved", inner.is_reserved)):
        if flag:
            return f"{kind} address {address}"
    if not inner.is_global:  # shared (100.64/10), benchmarking, documentation ranges, ...
        return f"non-public address {address}"
    return None


def check_url(url: str, allow: AllowList) -> WebhookTarget:
    """The check at POST /jobs (no DNS: names are checked when delivered)."""
    target = parse_target(url)
    host = target.host.lower()
    if allow.admits_name(host):
        return target
    address = ip_literal(host)
    if address is not None:
        if not allow.admits_address(address):
            reason = refusal(address)
            if reason is not None:
                raise WebhookTargetRefused(f"{reason} is not allowed as a webhook target")
        return target
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        raise WebhookTargetRefused(f"{host} is this machine: not allowed as a webhook target")
    return target


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


def resolve_target(target: WebhookTarget, allow: AllowList,
                   resolver: Resolver = system_resolver) -> str:
    """The address to connect to, checked: every address the host resolves to must be allowed
    (a name answering one public and one internal address is refused)."""
    host = target.host.lower()
    literal = ip_literal(host)
    if literal is not None:
        addresses: list[IpAddress] = [literal]
    else:
        try:
            addresses = [ipaddress.ip_address(a.split("%", 1)[0])
                         for a in resolver(target.host, target.port)]
        except (OSError, ValueError) as exc:
            raise WebhookTargetRefused(f"host {target.host} does not resolve ({exc})") from None
        if not addresses:
            raise WebhookTargetRefused(f"host {target.host} does not resolve")
    if not allow.admits_name(host):
        for address in addresses:
            if not allow.admits_address(address):
                reason = refusal(address)
                if reason is not None:
                    raise WebhookTargetRefused(
                        f"{target.host} resolves to {reason}: not allowed as a webhook target")
    mapped = getattr(addresses[0], "ipv4_mapped", None)
    return str(mapped or addresses[0])
