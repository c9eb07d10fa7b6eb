"""Object stores: the local directory store and the S3 store against moto's server."""

import hashlib
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.errors import ChecksumMismatch, ObjectNotFound, StorageError
from storage.objects import LocalObjectStore, ObjectStore, S3ObjectStore


@pytest.fixture(params=["local", "s3-moto"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "objects")
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    s3 = S3ObjectStore(endpoint=endpoint, access_key="test", secret_key="test-secret",
                       bucket=f"bantin-{uuid.uuid4().hex[:8]}", secure=False)
    s3.ensure_bucket()
    s3.ensure_bucket()  # idempotent
    yield s3


def _tamper(store: ObjectStore, key: str, data: bytes) -> None:
    """Replace an object's bytes behind the store's back (disk corruption, a rogue writer)."""
    if isinstance(store, LocalObjectStore):
        (store.root / key).write_bytes(data)
    else:
        import io

        assert isinstance(store, S3ObjectStore)
        store.client.put_object(store.bucket, key, io.BytesIO(data), len(data))


def test_put_bytes_is_content_addressed_and_idempotent(store: ObjectStore) -> None:
    data = "Thông báo tiêm chủng".encode()
    a = store.put_bytes(data, ext="txt", media_type="text/plain")
    b = store.put_bytes(data, ext="txt", media_type="text/plain")
    assert a == b
    assert a.sha256 == hashlib.sha256(data).hexdigest()
    assert a.key == f"objects/{a.sha256[:2]}/{a.sha256}.txt"
    assert store.get_bytes(a.key) == data
    assert store.exists(a.key)


def test_put_file_and_download_roundtrip(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(bytes(range(256)) * 40_000)  # ~10 MB: multipart on S3
    obj = store.put_file(src, ext="bin", media_type="application/octet-stream")
    out = store.download(obj.key, tmp_path / "back.bin")
    assert out.read_bytes() == src.read_bytes()
    assert obj.size == src.stat().st_size


def test_tampered_object_is_refused_on_read(store: ObjectStore, tmp_path: Path) -> None:
    obj = store.put_bytes(b"original bytes", ext="txt", media_type="text/plain")
    _tamper(store, obj.key, b"tampered bytes")
    with pytest.raises(ChecksumMismatch):
        store.get_bytes(obj.key)
    with pytest.raises(ChecksumMismatch):
        store.download(obj.key, tmp_path / "x")


def test_put_at_refuses_bytes_that_do_not_match_a_content_key(store: ObjectStore) -> None:
    with pytest.raises(ChecksumMismatch):
        store.put_at("manifests/" + "0" * 64 + ".json", b"{}", media_type="application/json")


def test_missing_object(store: ObjectStore) -> None:
    key = "objects/00/" + "0" * 64 + ".txt"
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound):
        store.get_bytes(key)


def test_url_serves_the_object(store: ObjectStore) -> None:
    obj = store.put_bytes(b"slide bytes", ext="png", media_type="image/png")
    with urllib.request.urlopen(store.url(obj.key), timeout=10) as resp:  # noqa: S310 - file:// or loopback
        assert resp.read() == b"slide bytes"


def test_local_store_refuses_path_traversal(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "objects")
    with pytest.raises(StorageError, match="escapes"):
        store.put_at("../outside.txt", b"x", media_type="text/plain")
    assert not (tmp_path / "outside.txt").exists()


def test_failed_download_leaves_nothing_at_destination(store: ObjectStore, tmp_path: Path) -> None:
    obj = store.put_bytes(b"good", ext="txt", media_type="text/plain")
    _tamper(store, obj.key, b"evil")
    dest = tmp_path / "out.txt"
    with pytest.raises(ChecksumMismatch):
        store.download(obj.key, dest)
    assert not dest.exists()


def test_put_file_repairs_a_damaged_copy(store: ObjectStore, tmp_path: Path) -> None:
    src = tmp_path / "a.txt"
    src.write_bytes(b"the real bytes")
    obj = store.put_file(src, ext="txt", media_type="text/plain")
    _tamper(store, obj.key, b"damaged bytes!")
    store.put_file(src, ext="txt", media_type="text/plain")
    assert store.get_bytes(obj.key) == b"the real bytes"


def test_s3_errors_surface_as_storage_errors(s3_endpoint: str) -> None:
    store = S3ObjectStore(endpoint=s3_endpoint, access_key="t", secret_key="t", bucket="no-such-bucket-here",
                          secure=False)
    with pytest.raises(StorageError):
        store.put_bytes(b"x", ext="txt", media_type="text/plain")
    down = S3ObjectStore(endpoint="127.0.0.1:9", access_key="t", secret_key="t", bucket="b-down", secure=False)
    down.client._http.connection_pool_kw["retries"] = 0  # fail fast: nothing listens on port 9
    with pytest.raises(StorageError, match="unreachable"):
        down.get_bytes("objects/00/" + "0" * 64 + ".txt")
