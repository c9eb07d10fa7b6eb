"""Routes for devices (pages and API)."""

from fastapi import APIRouter

router = APIRouter()
