"""/api/create (contract section 5)."""

from __future__ import annotations

from .app import Ctx, Router
from .decode import HTTPError


async def create(ctx: Ctx) -> None:
    raise HTTPError(500, "create is not implemented yet in the test double")


def register(router: Router) -> None:
    router.add("POST", "/api/create", create)
