"""Files the wheel serves to browsers: the `<ordergate-order>` element (every mode) and, in dev,
GraphiQL from its vendored assets, so nothing is ever loaded from a CDN.

The files under `service/static/` are built by `web/scripts/build.mjs` and committed; a test
fails when they are stale relative to `web/`.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.staticfiles import NotModifiedResponse, StaticFiles

from service.paths import STATIC_DIR

ELEMENT_SCRIPT = STATIC_DIR / "elements" / "ordergate.js"
GRAPHIQL_DIR = STATIC_DIR / "graphiql"
GRAPHIQL_START = STATIC_DIR / "dev" / "graphiql-start.js"
# Storefronts load the element on every page view: a short cache, revalidated by ETag, so a
# new ordergate release reaches them within minutes without a versioned URL.
ELEMENT_CACHE = "public, max-age=300, must-revalidate"
GRAPHIQL_CACHE = "no-cache"
_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
# The GraphiQL page may load only what this origin serves: a CDN request would be refused by
# the browser even if a future GraphiQL build tried one.
GRAPHIQL_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# Browsers ask for /favicon.ico unless a page names its icon, and log the 404 as an error; an
# inline icon costs no request and is what the pages' `img-src data:` allows.
FAVICON_LINK = (
    '<link rel="icon" href="data:image/svg+xml,%3Csvg%20xmlns=%27http://www.w3.org/2000/svg%27%20'
    "viewBox=%270%200%2016%2016%27%3E%3Crect%20width=%2716%27%20height=%2716%27%20rx=%273%27%20"
    'fill=%27%2324292f%27/%3E%3C/svg%3E">'
)


# Starlette's own rule for answering a revalidation (If-None-Match, If-Modified-Since) with 304;
# the method reads only the two header sets, not the instance's directory.
_REVALIDATION = StaticFiles(directory=STATIC_DIR, check_dir=False)


def _file(request: Request, path: Path, *, cache: str) -> Response:
    """The file, or 304 when the browser's copy (by ETag or date) is still current: FileResponse
    alone sends the whole file again on every revalidation the Cache-Control asks for."""
    media_type = _MEDIA_TYPES.get(path.suffix, "text/plain; charset=utf-8")
    response = FileResponse(
        path, media_type=media_type, headers={"Cache-Control": cache}, stat_result=path.stat()
    )
    if _REVALIDATION.is_not_modified(response.headers, request.headers):
        return NotModifiedResponse(response.headers)
    return response


async def element_script(request: Request) -> Response:
    """`/elements/ordergate.js`: the built element, an ES module.

    Any origin may load it (a module script is fetched with CORS); only the GraphQL endpoint
    is limited to ORDERGATE_CORS_ORIGINS.
    """
    response = _file(request, ELEMENT_SCRIPT, cache=ELEMENT_CACHE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


async def graphiql_asset(request: Request) -> Response:
    """`/graphiql/{name}`: one of GraphiQL's vendored files, its licences included."""
    name = request.path_params["name"]
    path = GRAPHIQL_START if name == GRAPHIQL_START.name else GRAPHIQL_DIR / name
    # Only plain names of files that exist: no path leaves the folder.
    if "/" in name or name.startswith(".") or not path.is_file():
        return PlainTextResponse("Not found", status_code=404)
    return _file(request, path, cache=GRAPHIQL_CACHE)


def graphiql_page() -> HTMLResponse:
    """GraphiQL for `ordergate dev`, on the same origin as its assets and the endpoint."""
    page = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>ordergate · GraphiQL</title>\n"
        f"{FAVICON_LINK}\n"
        "<style>html,body,#graphiql{height:100%;margin:0}</style>\n"
        '<link rel="stylesheet" href="/graphiql/graphiql.min.css">\n'
        "</head>\n<body>\n"
        '<div id="graphiql" data-endpoint="/graphql">Loading GraphiQL…</div>\n'
        '<script src="/graphiql/react.production.min.js"></script>\n'
        '<script src="/graphiql/react-dom.production.min.js"></script>\n'
        '<script src="/graphiql/graphiql.min.js"></script>\n'
        f'<script src="/graphiql/{GRAPHIQL_START.name}"></script>\n'
        "</body>\n</html>\n"
    )
    return HTMLResponse(page, headers={"Content-Security-Policy": GRAPHIQL_POLICY})


def asset_routes(*, dev: bool) -> list[Route]:
    """The element in every mode; GraphiQL's files only in dev."""
    routes = [Route("/elements/ordergate.js", element_script, methods=["GET", "HEAD"])]
    if dev:
        routes.append(Route("/graphiql/{name}", graphiql_asset, methods=["GET", "HEAD"]))
    return routes
