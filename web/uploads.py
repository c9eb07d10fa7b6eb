"""Receiving uploaded files: streamed to a temporary file with a size cap, never held in memory."""

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.datastructures import UploadFile  # fastapi's is a subclass: both are taken

from domain.errors import InvalidInput

MAX_UPLOAD_BYTES = 200 * 1024 * 1024


@asynccontextmanager
async def saved_upload(upload: UploadFile, stem: str) -> AsyncIterator[Path]:
    """The upload as a file on disk (deleted afterwards), keeping its extension so tools can tell its type.

    Raises:
        InvalidInput: the file is larger than :data:`MAX_UPLOAD_BYTES`.
    """
    suffix = Path(upload.filename or "").suffix.lower()[:9] or ".bin"
    with tempfile.TemporaryDirectory(prefix="bantin-upload-") as tmp:
        dest = Path(tmp) / f"{stem}{suffix}"
        size = 0
        with dest.open("wb") as out:
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise InvalidInput(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
                out.write(chunk)
        yield dest
