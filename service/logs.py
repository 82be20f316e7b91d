"""One JSON object per log line, with secrets kept out by construction."""

from __future__ import annotations

import ipaddress
import json
import logging
from datetime import UTC, datetime

# Fields a log call may attach with `extra=`; anything else (a token, a contact, a
# comment) is never written even if someone passes it.
_ALLOWED_EXTRA = (
    "request_id",
    "client_request_id",
    "operation",
    "outcome",
    "duration_ms",
    "client_address",
    "cost_requested",
    "cost_actual",
    "kind",
    "status",
    "count",
)


_IPV4_KEPT_BITS = 24
_IPV6_KEPT_BITS = 48


def truncated_address(address: object) -> str:
    """A client address as logs keep it: its /24 (IPv4) or /48 (IPv6) network, enough to see
    abuse from one network, not to name a household (README, "Personal data")."""
    try:
        parsed = ipaddress.ip_address(str(address))
    except ValueError:
        return "unknown"
    bits = _IPV4_KEPT_BITS if parsed.version == 4 else _IPV6_KEPT_BITS
    return str(ipaddress.ip_network(f"{parsed}/{bits}", strict=False))


class JsonFormatter(logging.Formatter):
    """Formats records as compact JSON with a fixed set of fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _ALLOWED_EXTRA:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = truncated_address(value) if name == "client_address" else value
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception text may quote an upstream body.
            line["exception"] = record.exc_info[0].__name__
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr as JSON lines."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(noisy).handlers.clear()
        logging.getLogger(noisy).propagate = True
