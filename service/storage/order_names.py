"""Which order ids ordergate knows under an order's name, from its requests and audit log."""

from __future__ import annotations

from service.storage.connection import Connection

# A request row names its order; lookups and refusals write the name into their audit details.
_IDS_NAMED = """
select order_id from customer_requests where order_name = $1
union
select order_id from audit_events
where order_id is not null and details ->> 'order_name' = $1
"""


async def order_ids_named(*, conn: Connection, name: str) -> list[str]:
    """The gids of the orders ordergate has seen called `name` (`#1001`), sorted."""
    rows = await conn.fetch(_IDS_NAMED, name)
    return sorted(row["order_id"] for row in rows)


_NAMES_OF = """
select order_name as name from customer_requests where order_id = any($1::text[])
union
select details ->> 'order_name' from audit_events
where order_id = any($1::text[]) and details ->> 'order_name' is not null
"""


async def order_names_of(*, conn: Connection, order_ids: list[str]) -> list[str]:
    """The names (`#1001`) under which ordergate has seen these orders, sorted."""
    rows = await conn.fetch(_NAMES_OF, order_ids)
    return sorted(row["name"] for row in rows if row["name"])
