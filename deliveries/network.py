"""Where a delivery may connect: public addresses only, checked on the address connected to.

A target's host is resolved at send time, every address is checked, and the connection
goes to an address that passed, so a name that resolves to a public address when the
target is saved and to 169.254.169.254 later (DNS rebinding) is refused at the socket.
The check lives in an httpcore network backend, under httpx's connection pool: TLS,
SNI and the Host header still use the target's own name.
"""

from __future__ import annotations

import ipaddress
import select
import socket
from collections.abc import Iterable
from typing import Any

import anyio
import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(httpx.TransportError):
    """The target is or resolves only to addresses a delivery may not reach."""


def address_is_public(address: IPAddress) -> bool:
    """True unless the address is loopback, private, link-local (169.254.169.254 among
    them), multicast, reserved or unspecified, also when wrapped in IPv4-mapped IPv6."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def private_targets_allowed() -> bool:
    return bool(settings.DELIVERY_ALLOW_PRIVATE_TARGETS)


def literal_address(host: str) -> IPAddress | None:
    """The IP address a URL's host spells, or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def resolve_public(host: str, port: int) -> list[str]:
    """The addresses of ``host`` a delivery may connect to; :class:`AddressRefused` if none."""
    literal = literal_address(host)
    if literal is not None:
        candidates = [literal]
    else:
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise httpx.ConnectError(f"Cannot resolve {host}: {error}") from error
        candidates = [ipaddress.ip_address(info[4][0]) for info in infos]
    if private_targets_allowed():
        return [str(address) for address in candidates]
    allowed = [str(address) for address in candidates if address_is_public(address)]
    if not allowed:
        raise AddressRefused(f"{host} is not a public address")
    return allowed


class PublicOnlyBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own asyncio backend, connecting only to checked addresses."""

    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await resolve_public(host, port)
        error: Exception | None = None
        for address in addresses:
            try:
                stream = await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
                return ReadableCheckStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as failed:
                error = failed
        raise error  # type: ignore[misc]  # at least one address was tried

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("Unix sockets are not delivery targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class ReadableCheckStream(httpcore.AsyncNetworkStream):
    """A connection whose idle check is one ``poll`` of its socket.

    httpcore asks every pooled connection whether its socket is readable (closed by the
    server) on each request; anyio answers through a mapping of attribute getters it
    builds on every call, which was the worker's largest cost per delivery.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream, raw_socket: socket.socket | None = None) -> None:
        self._inner = inner
        self._socket = raw_socket if raw_socket is not None else inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # httpcore writes the end of every request with a known length as b"".
        if buffer:
            await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return ReadableCheckStream(await self._inner.start_tls(*args, **kwargs), self._socket)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return socket_is_readable(self._socket)
        return self._inner.get_extra_info(info)


def socket_is_readable(raw_socket: socket.socket | None) -> bool:
    """True if a read would not block: data, end of file or an error (httpcore's test)."""
    if raw_socket is None or raw_socket.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(raw_socket, select.POLLIN)
    return bool(poller.poll(0))


class PublicOnlyTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with its connection pool on :class:`PublicOnlyBackend`.

    httpx has no public option for a network backend, so the pool it built is replaced by
    an equal one (same TLS context and limits) that has it.
    """

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=PublicOnlyBackend(),
        )
