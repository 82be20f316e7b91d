"""Every log line the suite's in-process code writes, formatted as operators see it, checked
at the end of the run: no customer's contact or words may ever reach a log line."""

from __future__ import annotations

import ipaddress
import json
import logging
import re
from collections.abc import Iterator

import pytest

from service.logs import JsonFormatter
from service.sandbox.demo import DEMO_ORDERS

# Every e-mail address the tests use is at example.com or example.org; comments used in the
# tests carry words a log line never has.
_PERSONAL = re.compile(
    r"[\w.+-]+@example\.(com|org)|Wrong size|Nothing came|STAFF NOTE|PRIVACY-MARK"
)


class LineCapture(logging.Handler):
    """Keeps each record as the JSON line the production formatter makes of it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


# The tests' client addresses come from the documentation ranges (RFC 5737, RFC 3849); logs
# may carry their networks (`198.51.100.0/24`), never one whole address, in any field.
_TEST_ADDRESS = re.compile(
    r"\b(?:192\.0\.2|198\.51\.100|203\.0\.113)\.\d{1,3}(?:/\d+)?|\b2001:db8[0-9a-f:]*(?:/\d+)?"
)


def _whole_test_address(line: str) -> bool:
    return any("/" not in found for found in _TEST_ADDRESS.findall(line))


def _whole_client_address(line: str) -> bool:
    """A `client_address` field that names one host, not the /24 or /48 logs keep."""
    try:
        address = json.loads(line).get("client_address")
    except ValueError:
        return False
    if address is None:
        return False
    try:
        network = ipaddress.ip_network(address)
    except ValueError:
        return bool(address != "unknown")
    return bool(network.prefixlen > (24 if network.version == 4 else 48))


def personal_data_in(lines: list[str]) -> list[str]:
    """The lines that carry a contact, a customer's comment or a whole client address."""
    phones = {demo.contact for demo in DEMO_ORDERS if demo.contact.startswith("+")}
    return [
        line
        for line in lines
        if _PERSONAL.search(line)
        or any(p in line for p in phones)
        or _whole_client_address(line)
        or _whole_test_address(line)
    ]


@pytest.fixture(scope="session", autouse=True)
def every_log_line() -> Iterator[LineCapture]:
    """Captures every record of the run; fails the run if one carries personal data."""
    capture = LineCapture()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(capture)
    root.setLevel(logging.INFO)
    yield capture
    root.removeHandler(capture)
    root.setLevel(previous)
    leaked = personal_data_in(capture.lines)
    assert not leaked, f"{len(leaked)} log lines carry personal data, e.g. {leaked[0]}"
