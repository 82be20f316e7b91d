"""`ordergate sandbox staff`'s side: find the sandbox `ordergate dev` runs (its state file in
ORDERGATE_DATA_DIR) and ask it, over loopback HTTP, to do a staff action."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

from service.sandbox.staff import StaffOutcome

ORDER_GID = "gid://shopify/Order/"


class SandboxNotRunning(Exception):
    """No state file, or the sandbox it names does not answer."""


class StaffRequestRefused(Exception):
    """The sandbox answered, and refused: an unknown order, or an action not possible now."""


def typed_order(typed: str) -> str:
    """An order as the staff URL takes it: `#1012` and `1012` -> 1012, a gid -> its number."""
    order = typed.strip().removeprefix("#")
    if order.startswith(ORDER_GID):
        order = order[len(ORDER_GID) :]
    return quote(order, safe="")


def staff_url(state_file: Path) -> str:
    """The running sandbox's staff URL from its state file."""
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
        return str(state["staff_url"])
    except (OSError, ValueError, KeyError, TypeError):
        raise SandboxNotRunning(
            f"no running sandbox found ({state_file}); start `ordergate dev` first"
        ) from None


def request_staff_action(state_file: Path, action: str, order: str) -> StaffOutcome:
    """POST one staff action to the sandbox that wrote `state_file`."""
    base = staff_url(state_file)
    request = urllib.request.Request(f"{base}/{quote(action)}/{typed_order(order)}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as refused:
        try:
            message = str(json.loads(refused.read()).get("error"))
        except (ValueError, AttributeError):
            message = f"the sandbox answered {refused.code}"
        raise StaffRequestRefused(message) from None
    except (urllib.error.URLError, OSError):
        raise SandboxNotRunning(
            f"the sandbox at {base} does not answer; is `ordergate dev` running?"
        ) from None
    return StaffOutcome(
        action=str(body["action"]), order=str(body["order"]), topics=tuple(body["webhooks"])
    )
