"""The mail catalogs: `mail.pot` matches `MailText`, and every language translates all of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from service.mail.texts import MailText, catalog_path, load_translations
from service.messages import SUPPORTED_LOCALES, CatalogError, placeholders
from service.paths import LOCALES_DIR

TRANSLATED = tuple(locale for locale in SUPPORTED_LOCALES if locale != "en")


def _read_catalog(path: Path) -> dict[str, str]:
    with path.open("rb") as po_file:
        catalog = read_po(po_file)
    return {
        message.id: message.string
        for message in catalog
        if isinstance(message.id, str) and isinstance(message.string, str) and message.id
    }


def _pot_msgids() -> set[str]:
    return set(_read_catalog(LOCALES_DIR / "mail.pot"))


def test_pot_lists_exactly_the_msgids_the_templates_use() -> None:
    assert _pot_msgids() == {text.value for text in MailText}


def test_mail_msgids_are_distinct() -> None:
    assert len({text.value for text in MailText}) == len(list(MailText))


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_translates_every_msgid_of_the_pot(locale: str) -> None:
    catalog = _read_catalog(catalog_path(LOCALES_DIR, locale))
    untranslated = {msgid for msgid in _pot_msgids() if catalog.get(msgid, msgid) in {"", msgid}}
    assert untranslated == set()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_has_no_msgids_beyond_the_pot(locale: str) -> None:
    assert set(_read_catalog(catalog_path(LOCALES_DIR, locale))) <= _pot_msgids()


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_placeholders_match_their_msgids(locale: str) -> None:
    catalog = _read_catalog(catalog_path(LOCALES_DIR, locale))
    mismatched = {
        msgid for msgid, string in catalog.items() if placeholders(msgid) != placeholders(string)
    }
    assert mismatched == set()


def test_load_refuses_a_missing_catalog(tmp_path: Path) -> None:
    shutil.copytree(LOCALES_DIR, tmp_path, dirs_exist_ok=True)
    catalog_path(tmp_path, "nl").unlink()
    with pytest.raises(CatalogError, match="'nl'"):
        load_translations(tmp_path)


def test_load_refuses_a_translation_with_other_placeholders(tmp_path: Path) -> None:
    shutil.copytree(LOCALES_DIR, tmp_path, dirs_exist_ok=True)
    path = catalog_path(tmp_path, "da")
    path.write_text(path.read_text("utf-8").replace("ordre {order}:", "ordre {ordre}:"), "utf-8")
    with pytest.raises(CatalogError, match="ordre"):
        load_translations(tmp_path)
