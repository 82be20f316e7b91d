"""A rendered mail with its recipient: what the outbox seals and the sender delivers.

The sealed document is `{"to", "subject", "text", "html"}`, four strings and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.mail.sealing import SealBroken, Sealer
from service.mail.templates import RenderedMail

_FIELDS = ("to", "subject", "text", "html")


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One customer e-mail, ready for SMTP; it holds personal data, so it is stored sealed."""

    recipient: str
    subject: str
    text: str
    html: str

    @classmethod
    def of(cls, recipient: str, rendered: RenderedMail) -> OutgoingMail:
        """`rendered`, addressed to `recipient`."""
        return cls(recipient, rendered.subject, rendered.text, rendered.html)

    def seal(self, sealer: Sealer) -> bytes:
        """This mail, encrypted and authenticated for the outbox."""
        values = (self.recipient, self.subject, self.text, self.html)
        return sealer.seal(dict(zip(_FIELDS, values, strict=True)))

    @classmethod
    def unseal(cls, sealer: Sealer, blob: bytes) -> OutgoingMail:
        """The mail sealed in `blob`; raises `SealBroken` for anything else."""
        document = sealer.open(blob)
        values = [document.get(name) for name in _FIELDS]
        if set(document) != set(_FIELDS):
            raise SealBroken
        recipient, subject, text, html = (v if isinstance(v, str) else None for v in values)
        if recipient is None or subject is None or text is None or html is None:
            raise SealBroken
        return cls(recipient, subject, text, html)
