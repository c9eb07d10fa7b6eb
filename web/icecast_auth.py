"""Icecast's listener check (``<authentication type="url">``, ``listener_add``): Icecast POSTs a form for every
listener that connects; the answer header ``icecast-auth-user: 1`` lets it in, anything else refuses it.

Only area mounts with a valid, unexpired listen token (``domain.streams``) are let in; see
``services.streaming``. Icecast calls from the loopback or the installation's network, never a browser.
"""

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from services import streaming

router = APIRouter(prefix="/icecast/v1", tags=["streams"])


@router.post("/listener", include_in_schema=False)
async def listener_add(request: Request) -> PlainTextResponse:
    form = parse_qs((await request.body())[:8192].decode("utf-8", "replace"))
    action = form.get("action", [""])[0]
    mount = form.get("mount", [""])[0]
    if action != "listener_add":  # only listener_add is configured; anything else is not ours to allow
        return PlainTextResponse("refused", status_code=403)
    found = await run_in_threadpool(streaming.check_listener, mount, form.get("ip", [""])[0])
    if found is None:
        return PlainTextResponse("refused", status_code=403)
    return PlainTextResponse("ok", headers={"icecast-auth-user": "1"})
