"""Settings from the environment (CONTRACT §2), validated at start-up, with production guards."""

from __future__ import annotations

import email.policy
import enum
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import SplitResult, unquote, urlsplit

import limits
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_VERSION = "2026-10"
_API_VERSION = re.compile(r"^20\d\d-(01|04|07|10)$")
_SHOP_DOMAIN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
# A plain addr-spec: no quoting, comments, address literals or whitespace, nothing that could
# smuggle a second header or SMTP command into the envelope.
_ADDR_SPEC = re.compile(r"^[^\s<>()\[\],;:\"\\@]+@[^\s<>()\[\],;:\"\\@]+$")
SECRET_KEY_MIN_LENGTH = 32
# What `ordergate dev` allows one address when ORDERGATE_LIMIT_PER_CLIENT is unset (production: 30).
DEV_LIMIT_PER_CLIENT = "600/minute"
# smtp:// is submission with STARTTLS when the server offers it; smtps:// is implicit TLS.
SMTP_DEFAULT_PORTS = {"smtp": 587, "smtps": 465}


class Environment(enum.StrEnum):
    """`dev` favours convenience; `production` favours safety."""

    DEV = "dev"
    PRODUCTION = "production"


class ConfigurationError(ValueError):
    """The settings cannot run the service; the message says which variable to fix."""


@dataclass(frozen=True)
class SmtpServer:
    """Where customer e-mail is handed over: `SMTP_URL`, parsed and percent-decoded."""

    host: str
    port: int
    implicit_tls: bool  # smtps://; otherwise STARTTLS when the server offers it
    username: str | None = None
    password: SecretStr | None = None


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


class Settings(BaseSettings):
    """Everything ordergate reads from its environment. Nothing else reads `os.environ`."""

    # hide_input_in_errors: a rejected SMTP_URL or DATABASE_URL may hold a password, and a
    # ValidationError printed in a traceback or a log would otherwise repeat it.
    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, hide_input_in_errors=True
    )

    env: Environment = Field(default=Environment.DEV, validation_alias="ORDERGATE_ENV")
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")
    redis_url: SecretStr | None = Field(default=None, validation_alias="REDIS_URL")

    shopify_shop: str | None = Field(default=None, validation_alias="SHOPIFY_SHOP")
    shopify_admin_token: SecretStr | None = Field(
        default=None, validation_alias="SHOPIFY_ADMIN_TOKEN"
    )
    shopify_client_id: str | None = Field(default=None, validation_alias="SHOPIFY_CLIENT_ID")
    shopify_client_secret: SecretStr | None = Field(
        default=None, validation_alias="SHOPIFY_CLIENT_SECRET"
    )
    # Signs Shopify's webhooks; SHOPIFY_CLIENT_SECRET when unset (see webhook_secret_value).
    webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="SHOPIFY_WEBHOOK_SECRET"
    )
    shopify_api_version: str = Field(
        default=DEFAULT_API_VERSION, validation_alias="SHOPIFY_API_VERSION"
    )
    shopify_admin_endpoint: str | None = Field(
        default=None, validation_alias="SHOPIFY_ADMIN_ENDPOINT"
    )
    shopify_order_name_prefix: str = Field(
        default="#", validation_alias="SHOPIFY_ORDER_NAME_PREFIX"
    )
    shopify_order_name_suffix: str = Field(default="", validation_alias="SHOPIFY_ORDER_NAME_SUFFIX")

    policy_file: Path | None = Field(default=None, validation_alias="ORDERGATE_POLICY_FILE")
    host: str | None = Field(default=None, validation_alias="ORDERGATE_HOST")
    port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=8000, validation_alias="ORDERGATE_PORT"
    )
    # /metrics lives on its own port, on the same host as the public one; 0 turns it off.
    metrics_port: Annotated[int, Field(ge=0, le=65535)] = Field(
        default=9090, validation_alias="ORDERGATE_METRICS_PORT"
    )
    limit_per_client: str = Field(
        default="30/minute", validation_alias="ORDERGATE_LIMIT_PER_CLIENT"
    )
    limit_per_order: str = Field(default="10/hour", validation_alias="ORDERGATE_LIMIT_PER_ORDER")
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="ORDERGATE_TRUSTED_PROXIES"
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="ORDERGATE_CORS_ORIGINS"
    )
    order_cache_seconds: Annotated[float, Field(ge=0, le=300)] = Field(
        default=10.0, validation_alias="ORDERGATE_ORDER_CACHE_SECONDS"
    )
    # With a webhook secret, Shopify's order webhooks drop a changed order's snapshot on every
    # replica: it can live much longer, and this time is only the safety net for a lost one.
    order_cache_webhook_seconds: Annotated[float, Field(ge=0, le=3600)] = Field(
        default=300.0, validation_alias="ORDERGATE_ORDER_CACHE_WEBHOOK_SECONDS"
    )
    # How long a request is left to the process that took it before the reconciler finishes
    # it; also the lease a reconciler's claim takes. At least 15 s: longer than an Admin call
    # may take (10 s timeout), so the reconciler leaves alone what a request is still sending.
    reconcile_settle_seconds: Annotated[float, Field(ge=15, le=3600)] = Field(
        default=30.0, validation_alias="ORDERGATE_RECONCILE_SETTLE_SECONDS"
    )
    # How often a request awaiting staff is re-checked in Shopify, for a webhook that never came.
    review_recheck_seconds: Annotated[float, Field(ge=30, le=86400)] = Field(
        default=600.0, validation_alias="ORDERGATE_REVIEW_RECHECK_SECONDS"
    )
    # Requests each replica's reconciler works on at once (each Admin call may take seconds);
    # each holds a pooled connection only while it records a step, between Admin calls.
    reconcile_concurrency: Annotated[int, Field(ge=1, le=32)] = Field(
        default=8, validation_alias="ORDERGATE_RECONCILE_CONCURRENCY"
    )
    log_level: str = Field(default="INFO", validation_alias="ORDERGATE_LOG_LEVEL")
    # Keys the hashes of verification codes and seals the e-mail queued in the outbox.
    secret_key: SecretStr | None = Field(default=None, validation_alias="ORDERGATE_SECRET_KEY")
    smtp_url: SecretStr | None = Field(default=None, validation_alias="SMTP_URL")
    mail_from: str = Field(default="ordergate@localhost", validation_alias="ORDERGATE_MAIL_FROM")
    data_dir: Path = Field(default=Path(".ordergate"), validation_alias="ORDERGATE_DATA_DIR")

    _split_trusted = field_validator("trusted_proxies", mode="before")(_split_csv)
    _split_origins = field_validator("cors_origins", mode="before")(_split_csv)

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a CIDR network") from None
        return value

    @field_validator("limit_per_client", "limit_per_order")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit such as 30/minute") from None
        return value

    @field_validator("shopify_api_version")
    @classmethod
    def _valid_api_version(cls, value: str) -> str:
        if not _API_VERSION.match(value):
            raise ValueError("must be a quarterly Admin API version such as 2026-10")
        return value

    @field_validator("shopify_shop")
    @classmethod
    def _valid_shop(cls, value: str | None) -> str | None:
        if value is not None and not _SHOP_DOMAIN.match(value.strip().lower()):
            raise ValueError("must be the shop's my-shop.myshopify.com domain")
        return value.strip().lower() if value else value

    @field_validator("log_level")
    @classmethod
    def _valid_log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < SECRET_KEY_MIN_LENGTH:
            raise ValueError(
                f"must be at least {SECRET_KEY_MIN_LENGTH} characters, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        return value

    @field_validator("smtp_url")
    @classmethod
    def _valid_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _parse_smtp_url(value.get_secret_value())
        return value

    @field_validator("mail_from")
    @classmethod
    def _valid_mail_from(cls, value: str) -> str:
        return _one_address(value)

    @model_validator(mode="after")
    def _credentials_come_in_pairs(self) -> Self:
        if (self.shopify_client_id is None) != (self.shopify_client_secret is None):
            raise ValueError("SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET go together")
        return self

    @model_validator(mode="after")
    def _metrics_apart_from_the_public_port(self) -> Self:
        if self.metrics_port != 0 and self.metrics_port == self.port:
            raise ValueError("ORDERGATE_METRICS_PORT must differ from ORDERGATE_PORT")
        return self

    def relaxed_for_dev(self) -> Settings:
        """`ordergate dev`'s settings: a developer exploring by hand and with GraphiQL sends far
        more than a customer, so the per-client limit is DEV_LIMIT_PER_CLIENT unless
        ORDERGATE_LIMIT_PER_CLIENT is set. Production's defaults are untouched."""
        if self.is_production or "limit_per_client" in self.model_fields_set:
            return self
        return self.model_copy(update={"limit_per_client": DEV_LIMIT_PER_CLIENT})

    @property
    def is_production(self) -> bool:
        """Production turns off introspection, GraphiQL and the sandbox."""
        return self.env is Environment.PRODUCTION

    @property
    def uses_sandbox(self) -> bool:
        """No shop and no endpoint configured: talk to the built-in sandbox shop."""
        return self.shopify_shop is None and self.shopify_admin_endpoint is None

    @property
    def listen_host(self) -> str:
        """Loopback in dev so a laptop never exposes the service; all interfaces in production."""
        if self.host is not None:
            return self.host
        return "0.0.0.0" if self.is_production else "127.0.0.1"

    def admin_endpoint(self) -> str:
        """The Admin GraphQL URL every operation is POSTed to."""
        if self.shopify_admin_endpoint:
            return self.shopify_admin_endpoint
        if self.shopify_shop is None:
            raise ConfigurationError("SHOPIFY_SHOP or SHOPIFY_ADMIN_ENDPOINT must be set")
        return f"https://{self.shopify_shop}/admin/api/{self.shopify_api_version}/graphql.json"

    def order_snapshot_seconds(self) -> float:
        """How long an order snapshot may be served: longer when webhooks tell of changes."""
        if self.webhook_secret_value() is None or self.order_cache_seconds == 0:
            return self.order_cache_seconds  # 0: always ask Shopify
        return max(self.order_cache_seconds, self.order_cache_webhook_seconds)

    def webhook_secret_value(self) -> str | None:
        """The secret Shopify signs webhooks with: SHOPIFY_WEBHOOK_SECRET, else the app's
        SHOPIFY_CLIENT_SECRET; None when neither is set (then no webhook is accepted)."""
        secret = (
            self.webhook_secret if self.webhook_secret is not None else self.shopify_client_secret
        )
        return secret.get_secret_value() if secret is not None else None

    def check_production(self) -> None:
        """Refuse to serve production traffic on anything but a real shop and a real database."""
        if not self.is_production:
            return
        problems = []
        if self.database_url is None:
            problems.append("DATABASE_URL is required in production")
        if self.uses_sandbox:
            problems.append("SHOPIFY_SHOP is required in production (the sandbox is dev-only)")
        if self.shopify_admin_token is None and self.shopify_client_id is None:
            problems.append(
                "Shopify credentials are required in production: SHOPIFY_ADMIN_TOKEN, "
                "or SHOPIFY_CLIENT_ID and SHOPIFY_CLIENT_SECRET"
            )
        if self.secret_key is None:
            problems.append(
                "ORDERGATE_SECRET_KEY is required in production (it keys the hashes of "
                "verification codes and seals queued e-mail)"
            )
        if self.smtp_url is None:
            # Whatever the policy says of codes and receipts: a locked order opens only with
            # a code e-mailed to its address (step-up, CONTRACT §5); without a relay it would
            # be locked out for good.
            problems.append(
                "SMTP_URL is required in production: customers are e-mailed one-time codes "
                "(and, as the policy says, receipts), and without it none would be sent"
            )
        if problems:
            raise ConfigurationError("; ".join(problems))

    def smtp_server(self) -> SmtpServer | None:
        """The SMTP relay from `SMTP_URL`, or None when it is unset."""
        if self.smtp_url is None:
            return None
        return _parse_smtp_url(self.smtp_url.get_secret_value())


def _parse_smtp_url(url: str) -> SmtpServer:
    """`smtp[s]://[user:password@]host[:port]`; the messages never repeat the URL (a secret)."""
    parts = urlsplit(url)
    if parts.scheme not in SMTP_DEFAULT_PORTS:
        raise ValueError("must start with smtp:// (STARTTLS) or smtps:// (implicit TLS)")
    if not parts.hostname:
        raise ValueError("must name the SMTP server's host, e.g. smtp://mail.example.com:587")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("takes no path, query or fragment, only smtp[s]://user:password@host:port")
    username, password = _credentials(parts)
    return SmtpServer(
        host=parts.hostname,
        port=_port(parts) or SMTP_DEFAULT_PORTS[parts.scheme],
        implicit_tls=parts.scheme == "smtps",
        username=username,
        password=SecretStr(password) if password is not None else None,
    )


def _port(parts: SplitResult) -> int | None:
    try:
        port = parts.port
    except ValueError:
        raise ValueError("has a port that is not a number from 1 to 65535") from None
    if port == 0:
        raise ValueError("has a port that is not a number from 1 to 65535")
    return port


def _credentials(parts: SplitResult) -> tuple[str | None, str | None]:
    if parts.username is None:
        return None, None
    username = unquote(parts.username)
    password = unquote(parts.password) if parts.password is not None else None
    if not username or not password:
        raise ValueError("must give both a user and a password, or neither (user:password@host)")
    return username, password


def _one_address(value: str) -> str:
    """One plain address, bare or with a display name (`Shop <orders@shop.example>`)."""
    text = value.strip()
    problem = "must be one e-mail address, e.g. orders@shop.example or Shop <orders@shop.example>"
    if not text or any(char in text for char in "\r\n"):
        raise ValueError(problem)
    try:
        header = email.policy.default.header_factory("From", text)
    # The header parser fails on some malformed input with assorted exceptions (IndexError, …).
    except Exception:
        raise ValueError(problem) from None
    addresses = header.addresses
    if header.defects or len(addresses) != 1 or not _ADDR_SPEC.match(addresses[0].addr_spec):
        raise ValueError(problem)
    return text
