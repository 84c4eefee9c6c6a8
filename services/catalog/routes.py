"""HTTP routes of the catalog service."""

from fastapi import APIRouter

router = APIRouter(tags=["catalog"])
