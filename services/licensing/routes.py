"""HTTP routes of the licensing service."""

from fastapi import APIRouter

router = APIRouter(tags=["licensing"])
