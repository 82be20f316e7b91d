"""Order snapshots as JSON text for Redis: every field kept (datetimes, decimals, enums,
tuples), and a version so a snapshot written by another release reads as unreadable."""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import types
from datetime import datetime
from decimal import Decimal
from typing import Any, Union, get_args, get_origin, get_type_hints

from service.models import OrderSnapshot

_FORMAT = 2  # bump when the stored shape changes; other versions read as a miss


def _encode(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    return value


@functools.cache
def _hints(kind: type) -> dict[str, Any]:
    return get_type_hints(kind)


def _decode(kind: Any, value: object) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        options = [option for option in get_args(kind) if option is not type(None)]
        return None if value is None else _decode(options[0], value)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError("expected a list")
        return tuple(_decode(get_args(kind)[0], item) for item in value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        if not isinstance(value, dict):
            raise ValueError(f"expected an object for {kind.__name__}")
        hints = _hints(kind)
        return kind(
            **{f.name: _decode(hints[f.name], value[f.name]) for f in dataclasses.fields(kind)}
        )
    if kind is datetime and isinstance(value, str):
        return datetime.fromisoformat(value)
    if kind is Decimal and isinstance(value, str):
        return Decimal(value)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if kind in (str, int, bool) and type(value) is kind:
        return value
    raise ValueError(f"cannot read {type(value).__name__} as {kind}")


def snapshot_to_json(snapshot: OrderSnapshot | None) -> str:
    """A snapshot (None: "no such order") as JSON text, every field kept."""
    value = None if snapshot is None else _encode(snapshot)
    return json.dumps({"v": _FORMAT, "snapshot": value}, separators=(",", ":"))


def snapshot_from_json(text: str | bytes) -> OrderSnapshot | None:
    """The snapshot `snapshot_to_json` wrote; ValueError for anything else."""
    payload = json.loads(text)
    if not isinstance(payload, dict) or payload.get("v") != _FORMAT or "snapshot" not in payload:
        raise ValueError("not an order snapshot of this format")
    value = payload["snapshot"]
    snapshot: OrderSnapshot | None = None if value is None else _decode(OrderSnapshot, value)
    return snapshot
