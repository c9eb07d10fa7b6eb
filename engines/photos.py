"""Citizens' photos: check the media type by content (not the name), bound the size, strip location.

Every accepted photo is decoded and re-encoded by Pillow, so what is stored is an image Pillow could
read (a corrupt or disguised file is refused) and carries only the metadata written here: the EXIF
orientation, and the GPS block only when the citizen opted in. XMP and other blocks (which may also
hold a location) are dropped.
"""

import io
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from engines.errors import MediaError

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo; more is a decompression bomb
MAX_SIDE = 2560  # stored photos are scaled down to this (plenty for an officer's screen)
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp")}
GPS_IFD = 0x8825
ORIENTATION = 0x0112


@dataclass(frozen=True, slots=True)
class CleanPhoto:
    data: bytes
    media_type: str
    ext: str
    width: int
    height: int
    location_kept: bool


def clean_photo(data: bytes, *, keep_location: bool = False) -> CleanPhoto:
    """Decode, check and re-encode a photo.

    Raises:
        MediaError: empty, too big, not a JPEG/PNG/WebP image, corrupt, or too many pixels.
    """
    if not data:
        raise MediaError("Ảnh tải lên bị rỗng.")
    if len(data) > MAX_PHOTO_BYTES:
        raise MediaError(f"Ảnh quá lớn ({len(data) // 1024 // 1024} MB; tối đa {MAX_PHOTO_BYTES // 1024 // 1024} MB).")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            if fmt not in FORMATS:
                raise MediaError("Chỉ nhận ảnh JPEG, PNG hoặc WebP.")
            if probe.width * probe.height > MAX_PIXELS:
                raise MediaError("Ảnh có quá nhiều điểm ảnh.")
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            exif = img.getexif()
            kept = Image.Exif()
            if exif.get(ORIENTATION):
                kept[ORIENTATION] = exif[ORIENTATION]
            location = keep_location and bool(exif.get_ifd(GPS_IFD))
            if location:
                kept[GPS_IFD] = exif.get_ifd(GPS_IFD)
            out_img = img.convert("RGB") if fmt == "JPEG" and img.mode not in ("RGB", "L") else img
            if max(out_img.size) > MAX_SIDE:
                out_img = out_img.copy()
                out_img.thumbnail((MAX_SIDE, MAX_SIDE))
            buf = io.BytesIO()
            options: dict[str, object] = {"exif": kept.tobytes()} if len(kept) else {}
            if fmt == "JPEG":
                options["quality"] = 88
            out_img.save(buf, format=fmt, **options)
            width, height = out_img.size
    except MediaError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise MediaError("Tệp ảnh bị hỏng hoặc không phải là ảnh.") from None
    media_type, ext = FORMATS[fmt]
    return CleanPhoto(buf.getvalue(), media_type, ext, width, height, location)
