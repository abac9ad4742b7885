"""The real service's app factory (``uvicorn --factory handlers.app:create_app``)."""

from __future__ import annotations

from connexion import AsyncApp

from authspec.app import create_app as create_contract_app
from authspec.settings import Settings


def create_app(settings: Settings | None = None) -> AsyncApp:
    """The real service: the contract routed to ``handlers``."""
    return create_contract_app(settings, handlers="handlers")
