"""The connection type every storage function takes (apart from `database`, so the modules
`ordergate migrate` runs need not import the migration runner)."""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Connection = asyncpg.Connection | PoolConnectionProxy
"""A plain connection or one borrowed from a pool: service functions take either."""
