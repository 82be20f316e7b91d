"""Settings from the environment: the mail and secret-key variables and the production guards."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from service.config import DEV_LIMIT_PER_CLIENT, ConfigurationError, Settings, SmtpServer

SECRET_KEY = "k" * 32
PRODUCTION = {
    "ORDERGATE_ENV": "production",
    "DATABASE_URL": "postgresql://ordergate@db.example/ordergate",
    "SHOPIFY_SHOP": "demo.myshopify.com",
    "SHOPIFY_ADMIN_TOKEN": "shpat_test",
    "ORDERGATE_SECRET_KEY": SECRET_KEY,
    "SMTP_URL": "smtp://relay.example:587",
}


@pytest.fixture(autouse=True)
def _no_inherited_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts, not the environment the suite runs in."""
    for name in PRODUCTION:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ORDERGATE_MAIL_FROM", raising=False)


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def rejection(**values: Any) -> tuple[str, str]:
    """The variable a rejected setting is reported under, and the reason given."""
    with pytest.raises(ValidationError) as caught:
        settings(**values)
    (error,) = caught.value.errors()
    return str(error["loc"][0]), error["msg"]


def test_production_with_every_variable_set_passes_both_guards() -> None:
    configured = settings(**PRODUCTION)
    configured.check_production()


def test_production_refuses_to_start_without_the_secret_key() -> None:
    values = {**PRODUCTION, "ORDERGATE_SECRET_KEY": None}
    with pytest.raises(ConfigurationError, match="ORDERGATE_SECRET_KEY is required"):
        settings(**values).check_production()


def test_dev_runs_without_the_secret_key() -> None:
    settings().check_production()


def test_secret_key_shorter_than_32_characters_is_refused() -> None:
    variable, reason = rejection(ORDERGATE_SECRET_KEY="k" * 31)
    assert variable == "ORDERGATE_SECRET_KEY"
    assert "at least 32 characters" in reason


def test_production_refuses_to_start_without_smtp_whatever_the_policy() -> None:
    # A locked order opens only with an e-mailed code, so even a policy without codes or
    # receipts e-mails customers.
    values = {**PRODUCTION, "SMTP_URL": None}
    with pytest.raises(ConfigurationError, match="SMTP_URL is required in production"):
        settings(**values).check_production()


def test_dev_runs_without_smtp() -> None:
    settings().check_production()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://relay.example", SmtpServer("relay.example", 587, implicit_tls=False)),
        ("smtps://relay.example", SmtpServer("relay.example", 465, implicit_tls=True)),
        ("smtp://relay.example:2525/", SmtpServer("relay.example", 2525, implicit_tls=False)),
        ("smtp://[::1]:25", SmtpServer("::1", 25, implicit_tls=False)),
    ],
    ids=["starttls-default-port", "implicit-tls-default-port", "own-port", "ipv6"],
)
def test_smtp_url_names_host_port_and_tls(url: str, expected: SmtpServer) -> None:
    assert settings(SMTP_URL=url).smtp_server() == expected


def test_smtp_credentials_are_percent_decoded() -> None:
    server = settings(SMTP_URL="smtps://orders%40shop.example:p%3Ass%2Fw@relay.example:465")
    parsed = server.smtp_server()
    assert parsed is not None
    assert parsed.username == "orders@shop.example"
    assert parsed.password == SecretStr("p:ss/w")


def test_no_smtp_url_means_no_smtp_server() -> None:
    assert settings().smtp_server() is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://relay.example", "smtp:// (STARTTLS) or smtps://"),
        ("relay.example:587", "smtp:// (STARTTLS) or smtps://"),
        ("smtp://", "must name the SMTP server's host"),
        ("smtp://user:secret@:587", "must name the SMTP server's host"),
        ("smtp://relay.example:70000", "port"),
        ("smtp://relay.example:0", "port"),
        ("smtp://relay.example:submission", "port"),
        ("smtp://user@relay.example", "both a user and a password"),
        ("smtp://:secret@relay.example", "both a user and a password"),
        ("smtp://relay.example/inbox", "no path, query or fragment"),
        ("smtp://relay.example?tls=off", "no path, query or fragment"),
    ],
)
def test_bad_smtp_url_is_refused_naming_the_variable(url: str, reason: str) -> None:
    variable, message = rejection(SMTP_URL=url)
    assert variable == "SMTP_URL"
    assert reason in message


def test_refused_smtp_url_never_repeats_its_password() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(SMTP_URL="smtp://orders:hunter2-secret@relay.example:99999")
    assert "hunter2-secret" not in str(caught.value)
    assert "hunter2-secret" not in repr(caught.value)


def test_secrets_never_appear_in_the_settings_repr() -> None:
    values = {**PRODUCTION, "SMTP_URL": "smtp://orders:hunter2-secret@relay.example"}
    shown = repr(settings(**values))
    assert "hunter2-secret" not in shown
    assert SECRET_KEY not in shown


def test_mail_from_defaults_to_ordergate_at_localhost() -> None:
    assert settings().mail_from == "ordergate@localhost"


@pytest.mark.parametrize(
    "sender",
    ["orders@shop.example", "Shop <orders@shop.example>", '"Shop, Inc." <orders@shop.example>'],
)
def test_mail_from_takes_an_address_with_or_without_a_display_name(sender: str) -> None:
    assert settings(ORDERGATE_MAIL_FROM=sender).mail_from == sender


@pytest.mark.parametrize(
    "sender",
    [
        "shop",
        "orders@",
        "@shop.example",
        "Shop <>",
        "orders@shop.example, sales@shop.example",
        "orders@shop.example\r\nBcc: everyone@example.org",
        "undisclosed-recipients:;",
        '"orders desk"@shop.example',
        "orders@[192.0.2.25]",
    ],
    ids=[
        "no-at",
        "no-domain",
        "no-user",
        "empty-angle",
        "two-addresses",
        "header-injection",
        "empty-group",
        "quoted-local-part",
        "address-literal",
    ],
)
def test_bad_mail_from_is_refused_naming_the_variable(sender: str) -> None:
    variable, reason = rejection(ORDERGATE_MAIL_FROM=sender)
    assert variable == "ORDERGATE_MAIL_FROM"
    assert "must be one e-mail address" in reason


def test_dev_relaxes_the_per_client_limit() -> None:
    assert settings().relaxed_for_dev().limit_per_client == DEV_LIMIT_PER_CLIENT
    assert settings().limit_per_client == "30/minute"


def test_dev_keeps_a_per_client_limit_that_was_set() -> None:
    chosen = settings(ORDERGATE_LIMIT_PER_CLIENT="5/minute").relaxed_for_dev()
    assert chosen.limit_per_client == "5/minute"


def test_production_keeps_its_default_limits() -> None:
    production = settings(**PRODUCTION).relaxed_for_dev()
    assert (production.limit_per_client, production.limit_per_order) == ("30/minute", "10/hour")
