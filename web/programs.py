"""Routes for programs (pages and API)."""

from fastapi import APIRouter

router = APIRouter()
