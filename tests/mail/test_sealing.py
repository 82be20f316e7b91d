"""Sealing: what the outbox stores opens only with the same secret, and only untouched."""

from __future__ import annotations

import pytest

from service.mail.outgoing import OutgoingMail
from service.mail.sealing import SealBroken, Sealer

SECRET = b"a server secret of some length"
MAIL = OutgoingMail("kari@example.com", "Your code", "Code: 418207\n", "<p>418207</p>")


def test_a_sealed_document_opens_to_what_was_sealed() -> None:
    sealer = Sealer(SECRET)
    document = {"to": "kari@example.com", "subject": "Å være", "n": 3}
    assert sealer.open(sealer.seal(document)) == document


def test_a_seal_shows_nothing_of_its_content() -> None:
    blob = Sealer(SECRET).seal({"to": "kari@example.com", "code": "418207"})
    assert b"418207" not in blob
    assert b"kari" not in blob


def test_sealing_twice_gives_different_blobs() -> None:
    sealer = Sealer(SECRET)
    assert sealer.seal({"code": "418207"}) != sealer.seal({"code": "418207"})


@pytest.mark.parametrize("position", [0, 20, 60, -5, -1])
def test_a_tampered_seal_is_refused(position: int) -> None:
    sealer = Sealer(SECRET)
    blob = bytearray(sealer.seal({"to": "kari@example.com"}))
    blob[position] = ord("A") if blob[position] != ord("A") else ord("B")
    with pytest.raises(SealBroken):
        sealer.open(bytes(blob))


def test_a_truncated_seal_is_refused() -> None:
    sealer = Sealer(SECRET)
    with pytest.raises(SealBroken):
        sealer.open(sealer.seal({"to": "kari@example.com"})[:-10])


def test_a_seal_made_with_another_secret_is_refused() -> None:
    blob = Sealer(b"another secret").seal({"to": "kari@example.com"})
    with pytest.raises(SealBroken):
        Sealer(SECRET).open(blob)


def test_the_broken_seal_error_names_no_content() -> None:
    with pytest.raises(SealBroken) as caught:
        Sealer(SECRET).open(b"not a seal at all, kari@example.com")
    assert "kari" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        Sealer(b"")


def test_an_outgoing_mail_survives_sealing() -> None:
    sealer = Sealer(SECRET)
    assert OutgoingMail.unseal(sealer, MAIL.seal(sealer)) == MAIL


def test_a_sealed_document_that_is_not_a_mail_is_refused() -> None:
    sealer = Sealer(SECRET)
    with pytest.raises(SealBroken):
        OutgoingMail.unseal(sealer, sealer.seal({"to": "kari@example.com", "subject": "x"}))
    with pytest.raises(SealBroken):
        OutgoingMail.unseal(
            sealer, sealer.seal({"to": 1, "subject": "s", "text": "t", "html": "h"})
        )


def test_the_sealed_mail_document_has_the_documented_keys() -> None:
    sealer = Sealer(SECRET)
    assert set(sealer.open(MAIL.seal(sealer))) == {"to", "subject", "text", "html"}
