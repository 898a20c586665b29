"""`add_docs_routes`: Swagger UI and ReDoc from packaged assets, behind any root path."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from talkifai_common.api_docs import DOCS_ASSETS_URL, add_docs_routes
from tests.support.api_docs import page_urls

pytestmark = pytest.mark.unit


def test_an_app_that_still_has_the_cdn_pages_is_refused() -> None:
    with pytest.raises(ValueError, match="docs_url=None"):
        add_docs_routes(FastAPI())


async def test_behind_a_root_path_the_pages_load_assets_under_it() -> None:
    app = FastAPI(docs_url=None, redoc_url=None)
    add_docs_routes(app)
    transport = httpx.ASGITransport(app=app, root_path="/numbers")
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for page in ("/docs", "/redoc"):
            urls = page_urls((await http.get(page)).text)
            assert urls and all(url.startswith("/numbers/") for url in urls), urls
        assert any(url.startswith(f"/numbers{DOCS_ASSETS_URL}/") for url in urls)
