"""Dependencies shared by the catalog's routes: its settings and its media storage."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.catalog.settings import CatalogSettings
from services.catalog.storage import MediaStorage


def catalog_settings(request: Request) -> CatalogSettings:
    return request.app.state.runtime.settings


def media_storage(request: Request) -> MediaStorage:
    return request.app.state.runtime.state["media_storage"]


SettingsDep = Annotated[CatalogSettings, Depends(catalog_settings)]
StorageDep = Annotated[MediaStorage, Depends(media_storage)]
