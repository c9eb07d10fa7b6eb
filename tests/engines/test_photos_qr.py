"""Citizens' photos (type by content, size and pixel bounds, location stripped) and QR codes."""

import io

import pytest
from PIL import Image

from domain.feedback import public_feedback_url
from engines import photos, qr
from engines.errors import MediaError


def image_bytes(fmt: str, size: tuple[int, int] = (40, 30), gps: bool = True) -> bytes:
    img = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make: dropped too
    if gps:
        exif[0x8825] = {1: "N", 2: (9.0, 54.0, 0.0), 3: "E", 4: (106.0, 18.0, 0.0)}
    buf = io.BytesIO()
    img.save(buf, format=fmt, exif=exif.tobytes())
    return buf.getvalue()


@pytest.mark.parametrize("fmt,media_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_location_and_other_metadata_are_stripped(fmt: str, media_type: str) -> None:
    out = photos.clean_photo(image_bytes(fmt))
    assert (out.media_type, out.width, out.height, out.location_kept) == (media_type, 40, 30, False)
    exif = Image.open(io.BytesIO(out.data)).getexif()
    assert exif.get_ifd(0x8825) == {} and 0x010F not in exif


def test_location_is_kept_when_asked_and_present() -> None:
    out = photos.clean_photo(image_bytes("JPEG"), keep_location=True)
    assert out.location_kept and Image.open(io.BytesIO(out.data)).getexif().get_ifd(0x8825)[1] == "N"
    assert not photos.clean_photo(image_bytes("JPEG", gps=False), keep_location=True).location_kept


def test_large_photos_are_scaled_down() -> None:
    out = photos.clean_photo(image_bytes("JPEG", size=(4000, 3000), gps=False))
    assert (out.width, out.height) == (2560, 1920)


@pytest.mark.parametrize("data,message", [
    (b"", "rỗng"), (b"<html><script>x</script></html>", "không phải là ảnh"),
    (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00"
     b"\x01\x00\x01\x00\x00\x02\x02D\x01\x00;", "Chỉ nhận ảnh JPEG, PNG hoặc WebP"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "không phải là ảnh")])
def test_bad_files_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(MediaError, match=message):
        photos.clean_photo(data)


def test_truncated_jpeg_is_refused() -> None:
    data = image_bytes("JPEG", size=(200, 200))
    with pytest.raises(MediaError, match="bị hỏng"):
        photos.clean_photo(data[: len(data) // 2])


def test_oversized_and_too_many_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(MediaError, match="quá lớn"):
        photos.clean_photo(b"\xff\xd8" + b"0" * (8 * 1024 * 1024 + 1))
    monkeypatch.setattr(photos, "MAX_PIXELS", 100)
    with pytest.raises(MediaError, match="quá nhiều điểm ảnh"):
        photos.clean_photo(image_bytes("PNG", size=(20, 20)))


def test_qr_png_of_the_public_feedback_url() -> None:
    url = public_feedback_url("https://bantin.example.vn", "29377", 42)
    png = qr.qr_png(url, scale=4, border=2)
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.width == img.height
    # This 51-character URL needs version 4 at level M (version 3 holds 42 bytes): 33 modules, so
    # (33 + 2 * 2) * 4 = 148 pixels.
    assert len(url) == 51 and img.width == 148
    assert img.convert("L").getpixel((0, 0)) == 255 and img.convert("L").getpixel((8, 8)) == 0  # quiet zone, finder
    with pytest.raises(ValueError):
        qr.qr_png("")
    with pytest.raises(ValueError):
        qr.qr_png(url, scale=0)
