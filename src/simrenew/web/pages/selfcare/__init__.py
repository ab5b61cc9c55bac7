"""The subscriber's website: account, bound lines, recharge centre and receipts, in en/ar/zh.

`build_router()` gathers the pages; `STATIC_DIR` holds their CSS, script and logo (served at
`/static`, nothing from a CDN).
"""

from __future__ import annotations

from fastapi import APIRouter

from simrenew.web.pages.selfcare import account, lines, receipts, recharge
from simrenew.web.pages.selfcare.i18n import STATIC_DIR

__all__ = ["STATIC_DIR", "build_router"]


def build_router() -> APIRouter:
    """Every self-care page (out of the OpenAPI: they are pages, not the API)."""
    router = APIRouter(include_in_schema=False)
    for part in (account, lines, recharge, receipts):
        router.include_router(part.router)
    return router
