"""Where the data folders (`schema/`, `db/`) are, in a source tree and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _data_root() -> Path:
    # A wheel carries the folders inside the package (see pyproject's force-include);
    # a source checkout has them beside it.
    bundled = _PACKAGE / "_data"
    return bundled if (bundled / "schema").is_dir() else _PACKAGE.parent


DATA_ROOT = _data_root()
SCHEMA_DIR = DATA_ROOT / "schema"
PUBLIC_SDL = SCHEMA_DIR / "ordergate.graphql"
ADMIN_SLICE = SCHEMA_DIR / "shopify" / "admin-slice.graphql"
ADMIN_OPERATIONS_DIR = SCHEMA_DIR / "shopify" / "operations"
MIGRATIONS_DIR = DATA_ROOT / "db" / "migrations"
LOCALES_DIR = _PACKAGE / "locales"
# Built browser files (web/scripts/build.mjs) and GraphiQL's vendored assets: package data.
STATIC_DIR = _PACKAGE / "static"
