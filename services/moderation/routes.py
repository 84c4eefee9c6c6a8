"""HTTP routes of the moderation service."""

from fastapi import APIRouter

router = APIRouter(tags=["moderation"])
