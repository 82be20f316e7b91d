"""The msgids of customer e-mails and their catalogs (`locales/*/LC_MESSAGES/mail.po`).

Mail texts live in a gettext domain of their own, `mail`, beside the `ordergate` domain of
`service.messages`: each registry is compared with its own template (`mail.pot`).
"""

from __future__ import annotations

import enum
import gettext
from pathlib import Path

from service import messages
from service.messages import DEFAULT_LOCALE, SUPPORTED_LOCALES
from service.paths import LOCALES_DIR

DOMAIN = "mail"


class MailText(enum.Enum):
    """Every msgid of the e-mail templates: the one registry that `mail.pot` must match."""

    CODE_SUBJECT = "Your verification code for order {order}"
    CODE_INTRO = "Here is your verification code for order {order}:"
    CODE_USE = "Enter it where you asked for it. It works once and expires in {duration}."
    CODE_IGNORE = (
        "If you didn't ask for a code, you can ignore this e-mail: "
        "nothing happens to your order without it."
    )
    CODE_NEVER_SHARE = (
        "Never share this code. We will never ask you for it by phone, chat or e-mail."
    )
    RECEIPT_SUBJECT_CANCELLATION = "We've received your request to cancel order {order}"
    RECEIPT_SUBJECT_NOT_RECEIVED = "We've received your report about order {order}"
    RECEIPT_INTRO_CANCELLATION = "Thank you. We've received your request to cancel order {order}."
    RECEIPT_INTRO_NOT_RECEIVED = (
        "Thank you. We've received your report that order {order} hasn't arrived."
    )
    LABEL_REQUEST = "Request number"
    LABEL_SUBMITTED = "Submitted"
    HEADING_NEXT = "What happens next"
    NEXT_REVIEW = (
        "We've paused your order so that it isn't shipped while we look at your request. "
        "We usually review requests within one business day and will e-mail you the outcome."
    )
    NEXT_INVESTIGATE = (
        "We're checking with the carrier where your parcel is. "
        "You'll usually hear from us within two business days."
    )
    NEXT_GENERIC = "We'll look at your request and e-mail you as soon as it has been handled."
    QUOTE_REQUEST = "Please quote the request number if you contact customer service."
    OUTCOME_SUBJECT_CANCELLED = "Order {order} has been cancelled"
    OUTCOME_SUBJECT_DECLINED = "We couldn't cancel order {order}"
    OUTCOME_SUBJECT_REFUNDED = "We've refunded order {order}"
    OUTCOME_SUBJECT_RESHIPPED = "We're sending a replacement for order {order}"
    OUTCOME_SUBJECT_DELIVERED = "The carrier reports order {order} as delivered"
    OUTCOME_INTRO_CANCELLED = (
        "We've looked at your request and cancelled order {order}, as you asked."
    )
    OUTCOME_INTRO_DECLINED = (
        "We've looked at your request, but unfortunately we couldn't cancel order {order}: "
        "it is already on its way or being prepared for shipping."
    )
    OUTCOME_INTRO_REFUNDED = (
        "We've looked into your report that order {order} hasn't arrived "
        "and have refunded the order."
    )
    OUTCOME_INTRO_RESHIPPED = (
        "We've looked into your report that order {order} hasn't arrived "
        "and have sent you a replacement."
    )
    OUTCOME_INTRO_DELIVERED = (
        "We've checked with the carrier: they report that order {order} was delivered on {date}."
    )
    OUTCOME_NEXT_CANCELLED = (
        "Any payment will be refunded to your original payment method within a few "
        "business days. You don't need to do anything else."
    )
    OUTCOME_NEXT_DECLINED = (
        "Your order will be delivered as usual. "
        "If you no longer want it, you can return it once it has been delivered."
    )
    OUTCOME_NEXT_REFUNDED = (
        "The refund goes to your original payment method and usually shows up within a few "
        "business days. If the parcel turns up after all, please contact customer service."
    )
    OUTCOME_NEXT_RESHIPPED = (
        "You'll get a shipping confirmation with tracking details in a separate e-mail."
    )
    OUTCOME_NEXT_DELIVERED = (
        "Please look around your home and ask your neighbours whether they took the parcel in. "
        "If you still can't find it, contact customer service and we'll help you."
    )
    LABEL_HANDLED = "Handled"


def catalog_path(directory: Path, locale: str) -> Path:
    """Where the mail catalog for `locale` lives under `directory`."""
    return messages.catalog_path(directory, locale, DOMAIN)


def load_translations(directory: Path = LOCALES_DIR) -> dict[str, gettext.NullTranslations]:
    """Each supported locale's mail texts; `CatalogError` if a catalog is missing or unfit."""
    translations: dict[str, gettext.NullTranslations] = {DEFAULT_LOCALE: gettext.NullTranslations()}
    for locale in SUPPORTED_LOCALES:
        if locale != DEFAULT_LOCALE:
            translations[locale] = messages.load_catalog(directory, locale, DOMAIN)
    return translations
