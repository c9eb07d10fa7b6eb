"""HTTTN receivers can fetch assets from an installation with the default (local) store: the payload carries
links to bantin's web app, signed and expiring, answered with byte ranges; a real receiver on loopback (the
reference receiver, which refuses file:// URLs) fetches and checks every asset; a resend carries fresh links."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from domain.errors import Forbidden
from domain.packages import PackageStatus
from services import asset_links, runtime
from settings import get_settings
from tests.devices.factory import deliver_to_receiver, published_package
from tests.web.conftest import _serve

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def served(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The web app on loopback, named as the installation's public base URL."""
    from web.app import create_app

    runtime.reset()
    app = create_app(get_settings())
    for base in _serve(app):
        monkeypatch.setenv("BANTIN_PUBLIC_BASE_URL", base)
        runtime.reset()
        yield base


def test_links_are_signed_for_one_key_and_expire(home: Path) -> None:
    url = asset_links.signed_url("https://bantin.example", "ab/cd/x.mp3", now=T0, ttl=timedelta(hours=1))
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert urlsplit(url).path == "/htttn/v1/assets/ab/cd/x.mp3" and q["exp"] == str(int(T0.timestamp()) + 3600)
    asset_links.check("ab/cd/x.mp3", exp=q["exp"], kid=q["kid"], sig=q["sig"], now=T0 + timedelta(minutes=59))
    with pytest.raises(Forbidden, match="expired"):
        asset_links.check("ab/cd/x.mp3", exp=q["exp"], kid=q["kid"], sig=q["sig"], now=T0 + timedelta(minutes=61))
    with pytest.raises(Forbidden, match="does not match"):  # another object with this link's signature
        asset_links.check("ab/cd/y.mp3", exp=q["exp"], kid=q["kid"], sig=q["sig"], now=T0)
    with pytest.raises(Forbidden, match="does not match"):  # the expiry pushed later
        asset_links.check("ab/cd/x.mp3", exp=str(int(q["exp"]) + 86400), kid=q["kid"], sig=q["sig"], now=T0)
    with pytest.raises(Forbidden, match="malformed"):
        asset_links.check("ab/cd/x.mp3", exp="9" * 40, kid=q["kid"], sig=q["sig"], now=T0)


def test_a_loopback_receiver_fetches_every_asset_over_http(served: str, tmp_path: Path) -> None:
    from tasks import outbox as sender

    package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi,km", slides=2)
    received = deliver_to_receiver(package_id, manifest, tmp_path / "rx")  # http(s) only, like a real receiver
    assert received.verified_assets == 2 * (3 + 2)  # audio, script, board text and two slides per language
    assert len(list(received.path.glob("*"))) == 2 * 5 + 1  # and the manifest

    document = sender.PayloadCache().payload(package_id, "k")
    urls = [a["url"] for a in document["assets"]]
    assert all(u.startswith(f"{served}/htttn/v1/assets/") for u in urls)
    audio = next(a for a in document["assets"] if a["kind"] == "audio")
    with httpx.Client() as http:
        part = http.get(audio["url"], headers={"Range": "bytes=0-9"})
        assert part.status_code == 206 and part.headers["content-range"] == f"bytes 0-9/{audio['size']}"
        assert part.content == http.get(audio["url"]).content[:10]
        tampered = audio["url"].replace("exp=", "exp=1")
        assert http.get(tampered).status_code == 403
        unsigned = audio["url"].split("?")[0]
        assert http.get(unsigned).status_code == 403
        other = urls[1].split("?")[0] + "?" + audio["url"].split("?")[1]  # a link's signature for another file
        assert http.get(other).status_code == 403


def test_without_a_public_base_url_every_asset_is_fetched_from_the_web_apps_address(
        home: Path, web_address: str, tmp_path: Path) -> None:
    """The default installation (local store, no BANTIN_PUBLIC_BASE_URL): links name the address the web app
    listens on, and a receiver that accepts only http(s) fetches and checks every asset."""
    from tasks import outbox as sender

    assert get_settings().public_base_url == ""
    package_id, manifest = published_package(status=PackageStatus.APPROVED, languages="vi,km", slides=2)
    received = deliver_to_receiver(package_id, manifest, tmp_path / "rx")
    assert received.verified_assets == 10  # audio, script, board text and two slides, in vi and km
    urls = [a["url"] for a in sender.PayloadCache().payload(package_id, "k")["assets"]]
    assert len(urls) == 10 and all(u.startswith(f"{web_address}/htttn/v1/assets/") for u in urls)


def test_links_never_use_file_urls_even_with_no_web_app_configured(home: Path) -> None:
    from tasks import outbox as sender

    package_id, _ = published_package(status=PackageStatus.APPROVED, languages="vi")
    urls = [a["url"] for a in sender.PayloadCache().payload(package_id, "k")["assets"]]
    assert urls and all(u.startswith("http://127.0.0.1:8000/htttn/v1/assets/") for u in urls)  # the defaults


def test_a_resend_carries_fresh_links(served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tasks import outbox as sender

    package_id, _ = published_package(status=PackageStatus.APPROVED, languages="vi")
    first = sender.PayloadCache().payload(package_id, "k")["assets"][0]["url"]
    monkeypatch.setenv("BANTIN_PUBLIC_BASE_URL", "https://bantin.tinh.example")  # moved behind a proxy
    runtime.reset()
    again = sender.PayloadCache().payload(package_id, "k")["assets"][0]["url"]
    assert first.startswith(served) and again.startswith("https://bantin.tinh.example/htttn/v1/assets/")


def test_s3_assets_get_presigned_urls_a_receiver_can_fetch(home: Path, s3_endpoint: str) -> None:
    import hashlib
    import uuid

    from storage.objects import S3ObjectStore

    store = S3ObjectStore(endpoint=s3_endpoint, access_key="test", secret_key="test-secret",
                          bucket=f"bantin-{uuid.uuid4().hex[:8]}", secure=False)
    store.ensure_bucket()
    stored = store.put_bytes(b"ID3 loa phuong" * 100, ext="mp3", media_type="audio/mpeg")
    url = asset_links.asset_url(store, stored.key, base_url="https://bantin.example", now=T0,
                                ttl=timedelta(hours=2))
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"http://{s3_endpoint}/") and query["X-Amz-Expires"] == ["7200"]  # not bantin's link
    body = httpx.get(url).content
    assert hashlib.sha256(body).hexdigest() == stored.sha256
