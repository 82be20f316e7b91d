"""Whether the ports a server is about to listen on are free, asked before anything starts, so
a second `ordergate dev` stops in one line instead of starting Postgres and the sandbox (and
overwriting the running one's `sandbox.json`) only to fail at its bind."""

from __future__ import annotations

import errno
import ipaddress
import socket

from service.config import ConfigurationError, Settings


def check_ports_free(settings: Settings, *, holder: str) -> None:
    """Raise `ConfigurationError` naming the variable to change when the public or the metrics
    port cannot be bound on ORDERGATE_HOST; `holder` guesses who holds it ("ordergate dev")."""
    for port, variable in (
        (settings.port, "ORDERGATE_PORT"),
        (settings.metrics_port, "ORDERGATE_METRICS_PORT"),
    ):
        if port != 0:  # 0: any free port (public), off (metrics)
            _check_free(settings.listen_host, port, variable=variable, holder=holder)


def _check_free(host: str, port: int, *, variable: str, holder: str) -> None:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            # As uvicorn binds: a port left in TIME_WAIT by a stopped server is free to it.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"{where} is in use (another {holder}?): set {variable}"
            ) from None
        # A name that does not resolve, or an address this machine does not have, is the
        # host's fault; anything else (a privileged port) the port's.
        if isinstance(error, socket.gaierror) or error.errno == errno.EADDRNOTAVAIL:
            variable = "ORDERGATE_HOST"
        reason = error.strerror or type(error).__name__
        raise ConfigurationError(f"cannot listen on {where} ({reason}): set {variable}") from None


def exposure_warning(host: str) -> str | None:
    """One line when `ordergate dev` listens beyond loopback, where its mailbox (one-time
    codes, addresses) and demo are open to whoever reaches the host."""
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass  # a host name: assume it is reachable
    return (
        f"ordergate dev: WARNING: listening on {host}: /dev/mail (one-time codes, addresses) "
        "and the demo are reachable from the network"
    )
