"""HTTP routes of the identity service."""

from fastapi import APIRouter

router = APIRouter(tags=["identity"])
