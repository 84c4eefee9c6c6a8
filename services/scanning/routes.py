"""HTTP routes of the scanning service."""

from fastapi import APIRouter

router = APIRouter(tags=["scanning"])
