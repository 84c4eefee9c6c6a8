"""HTTP routes of the billing service."""

from fastapi import APIRouter

router = APIRouter(tags=["billing"])
