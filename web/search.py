"""Routes for search (pages and API)."""

from fastapi import APIRouter

router = APIRouter()
