"""`ordergate dev`'s demo storefront at `/`: the `<ordergate-order>` element against the sandbox
shop, the demo orders beside it, in en, nb, da and nl. Never served in production."""

from __future__ import annotations

import html
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from service.messages import SUPPORTED_LOCALES, negotiate
from service.sandbox.demo import DEMO_ORDERS, DemoOrder
from service.web_assets import FAVICON_LINK

# The element is a module script from this origin; its requests go to /graphql here too.
PAGE_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
LANGUAGE_NAMES = {"en": "English", "nb": "Norsk bokmål", "da": "Dansk", "nl": "Nederlands"}


@dataclass(frozen=True, slots=True)
class PageTexts:
    """The page's own words around the element."""

    title: str
    intro: str
    languages: str
    orders: str
    orders_intro: str
    number: str
    contact: str
    state: str
    what_to_try: str
    tools: str


TEXTS = {
    "en": PageTexts(
        "Order status",
        "Look up an order from the sandbox shop, cancel it or report it missing.",
        "Language",
        "Demo orders",
        "Pick an order to fill in the form. One-time codes arrive in the dev mailbox.",
        "Order",
        "E-mail or phone",
        "State",
        "What to try",
        "Developer tools",
    ),
    "nb": PageTexts(
        "Ordrestatus",
        "Finn en bestilling i sandkassebutikken, kanseller den eller meld den savnet.",
        "Språk",
        "Demobestillinger",
        "Velg en bestilling for å fylle ut skjemaet. Engangskoder kommer i utviklerpostkassen.",
        "Bestilling",
        "E-post eller telefon",
        "Tilstand",
        "Hva du kan prøve",
        "Utviklerverktøy",
    ),
    "da": PageTexts(
        "Ordrestatus",
        "Find en ordre i sandkassebutikken, annullér den eller meld den savnet.",
        "Sprog",
        "Demoordrer",
        "Vælg en ordre for at udfylde formularen. Engangskoder lander i udviklerpostkassen.",
        "Ordre",
        "E-mail eller telefon",
        "Tilstand",
        "Hvad du kan prøve",
        "Udviklerværktøjer",
    ),
    "nl": PageTexts(
        "Bestelstatus",
        "Zoek een bestelling in de sandboxwinkel, annuleer hem of meld hem kwijt.",
        "Taal",
        "Demobestellingen",
        "Kies een bestelling om het formulier in te vullen. Eenmalige codes komen in de "
        "ontwikkelaarsmailbox.",
        "Bestelling",
        "E-mail of telefoon",
        "Status",
        "Wat je kunt proberen",
        "Ontwikkelaarstools",
    ),
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}"
    "header{background:#24292f;color:#fff;padding:1rem 2rem;display:flex;flex-wrap:wrap;"
    "gap:1rem;align-items:center;justify-content:space-between}header a{color:#fff}"
    "header p{margin:0;font-weight:700;font-size:1.2rem}"
    "nav ul{list-style:none;display:flex;gap:1rem;margin:0;padding:0}"
    "nav a[aria-current]{font-weight:700;text-decoration-thickness:3px}"
    "main{display:grid;grid-template-columns:minmax(18rem,38rem) minmax(18rem,1fr);gap:2rem;"
    "padding:2rem;align-items:start}@media(max-width:60rem){main{grid-template-columns:1fr}}"
    "main>section,aside{background:#fff;border:1px solid #d0d7de;border-radius:8px;"
    "padding:1rem 1.5rem}aside{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;"
    "padding:.35rem .5rem;border-top:1px solid #d0d7de;vertical-align:top;overflow-wrap:anywhere}"
    "th{white-space:nowrap}"
    "footer{padding:0 2rem 2rem}"
)


def _e(value: str) -> str:
    return html.escape(value, quote=True)


def _markdown_cell(text: str) -> str:
    """A README table cell as HTML: its `code spans` become <code>, the rest is text."""
    parts = text.split("`")
    return "".join(
        f"<code>{_e(part)}</code>" if index % 2 else _e(part) for index, part in enumerate(parts)
    )


def _order_row(order: DemoOrder, language: str) -> str:
    digits = order.number.lstrip("#")
    link = f"/?lang={language}&order={digits}"
    return (
        f'<tr><th scope="row"><a href="{_e(link)}">{_e(order.number)}</a></th>'
        f"<td>{_e(order.contact)}</td>"
        f'<td lang="en">{_markdown_cell(order.state)}</td>'
        f'<td lang="en">{_markdown_cell(order.what_to_try)}</td></tr>'
    )


def _language_nav(current: str, texts: PageTexts) -> str:
    current_mark = ' aria-current="page"'
    items = "".join(
        f'<li><a href="/?lang={code}" lang="{code}"{current_mark if code == current else ""}>'
        f"{LANGUAGE_NAMES[code]}</a></li>"
        for code in SUPPORTED_LOCALES
    )
    return f'<nav aria-label="{_e(texts.languages)}"><ul>{items}</ul></nav>'


def render(language: str, chosen: DemoOrder | None) -> str:
    """The whole page in `language`, the element pre-filled with `chosen` when given."""
    texts = TEXTS[language]
    prefill = ""
    if chosen is not None:
        prefill = f' order-number="{_e(chosen.number)}" contact="{_e(chosen.contact)}"'
    rows = "".join(_order_row(order, language) for order in DEMO_ORDERS)
    return (
        f'<!DOCTYPE html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(texts.title)} · ordergate demo</title>\n{FAVICON_LINK}\n"
        f"<style>{_STYLE}</style>\n"
        '<script type="module" src="/elements/ordergate.js"></script>\n</head>\n<body>\n'
        f"<header><p>ordergate demo shop</p>{_language_nav(language, texts)}</header>\n<main>\n"
        f'<section aria-labelledby="page-title"><h1 id="page-title">{_e(texts.title)}</h1>'
        f"<p>{_e(texts.intro)}</p>\n"
        f'<ordergate-order endpoint="/graphql"{prefill}></ordergate-order>\n</section>\n'
        f'<aside aria-labelledby="demo-orders"><h2 id="demo-orders">{_e(texts.orders)}</h2>'
        f"<p>{_e(texts.orders_intro)}</p>\n<table><thead><tr>"
        f'<th scope="col">{_e(texts.number)}</th><th scope="col">{_e(texts.contact)}</th>'
        f'<th scope="col">{_e(texts.state)}</th><th scope="col">{_e(texts.what_to_try)}</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></aside>\n</main>\n"
        f'<footer><h2>{_e(texts.tools)}</h2><ul><li><a href="/graphql">GraphiQL</a></li>'
        '<li><a href="/dev/mail">/dev/mail</a></li></ul></footer>\n</body>\n</html>\n'
    )


def _chosen(number: str | None) -> DemoOrder | None:
    if not number:
        return None
    wanted = "#" + number.strip().lstrip("#")
    return next((order for order in DEMO_ORDERS if order.number == wanted), None)


async def demo_page(request: Request) -> Response:
    """`/`: `?lang=` picks the language (else Accept-Language), `?order=` a demo order."""
    asked = request.query_params.get("lang")
    language = asked if asked in TEXTS else negotiate(request.headers.get("accept-language"))
    page = render(language, _chosen(request.query_params.get("order")))
    return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_POLICY})
