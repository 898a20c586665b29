"""Checks that a service's `/docs` and `/redoc` pages load everything from the service itself."""

from __future__ import annotations

import re

import httpx

# Every URL a docs page loads: attributes, and the document URL in Swagger UI's script.
_URLS = re.compile(r"""(?:src|href|spec-url)="([^"]*)"|\burl:\s*'([^']*)'""")
_EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}


def page_urls(html: str) -> list[str]:
    """The URLs a docs page would fetch."""
    return [a or b for a, b in _URLS.findall(html)]


async def assert_docs_served_locally(http: httpx.AsyncClient) -> None:
    """`/docs` and `/redoc` name no other host, and every asset they load answers 200 here."""
    for page in ("/docs", "/redoc"):
        response = await http.get(page)
        assert response.status_code == 200, page
        assert "://" not in response.text, f"{page} loads from another host"
        urls = page_urls(response.text)
        assert any(url.endswith(".js") for url in urls), f"{page} loads no script: {urls}"
        for url in urls:
            assert url.startswith("/"), f"{page} loads {url!r}, not a local path"
            asset = await http.get(url)
            assert asset.status_code == 200, f"{page}: {url} answered {asset.status_code}"
            assert asset.content, f"{page}: {url} is empty"
            kind = next((t for ext, t in _EXPECTED_TYPES.items() if url.endswith(ext)), "")
            assert kind in asset.headers["content-type"], f"{url}: {asset.headers['content-type']}"
