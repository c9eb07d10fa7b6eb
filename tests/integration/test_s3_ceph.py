"""S3ObjectStore against a real S3 server (Ceph radosgw): what moto cannot check.

moto accepts any key and any signature and keeps nothing across restarts, so signature checks, presigned
URL tampering, multipart uploads on a real server and persistence are tested here. Each test uses its own
bucket. The server comes from ``tests.integration.ceph`` (started by the tests, or S3_TEST_ENDPOINT).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio import Minio
from minio.error import S3Error

from domain.keys import content_key
from storage.errors import ChecksumMismatch, ObjectNotFound, StorageError
from storage.objects import S3ObjectStore
from tests.integration.ceph import CephRgw, ceph_rgw  # noqa: F401

pytestmark = [pytest.mark.real_s3, pytest.mark.integration]

MiB = 1 << 20
PART_SIZE = 8 * MiB  # the part size S3ObjectStore.put_file uses
HTTP_TIMEOUT = 60


def _store(
    rgw: CephRgw, bucket: str, *, access_key: str | None = None, secret_key: str | None = None
) -> S3ObjectStore:
    return S3ObjectStore(
        endpoint=rgw.endpoint,
        access_key=access_key or rgw.access_key,
        secret_key=secret_key or rgw.secret_key,
        bucket=bucket,
        secure=rgw.secure,
        region=rgw.region,
    )


def _raw(rgw: CephRgw, *, secret_key: str | None = None) -> Minio:
    return Minio(rgw.endpoint, access_key=rgw.access_key, secret_key=secret_key or rgw.secret_key,
                 secure=rgw.secure, region=rgw.region)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as resp:
        return resp.read()


def _http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def bucket_name() -> str:
    return f"bantin-t-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def store(ceph_rgw: CephRgw, bucket_name: str) -> S3ObjectStore:  # noqa: F811
    s = _store(ceph_rgw, bucket_name)
    s.ensure_bucket()
    return s


def test_ensure_bucket_is_idempotent(ceph_rgw: CephRgw, bucket_name: str) -> None:  # noqa: F811
    raw = _raw(ceph_rgw)
    assert not raw.bucket_exists(bucket_name)

    first = _store(ceph_rgw, bucket_name)
    first.ensure_bucket()
    assert raw.bucket_exists(bucket_name)
    first.ensure_bucket()  # again, same client
    _store(ceph_rgw, bucket_name).ensure_bucket()  # again, another client (a second worker starting up)

    assert [b.name for b in raw.list_buckets()].count(bucket_name) == 1
    obj = first.put_bytes(b"still usable", ext="txt", media_type="text/plain")
    assert first.get_bytes(obj.key) == b"still usable"


def test_put_bytes_get_bytes_download_round_trip(
    ceph_rgw: CephRgw, store: S3ObjectStore, tmp_path: Path,  # noqa: F811
) -> None:
    data = "Bản tin phát thanh xã, số 1\n".encode() + os.urandom(4096)
    obj = store.put_bytes(data, ext="txt", media_type="text/plain; charset=utf-8")

    assert obj.key == content_key(_sha(data), "txt")
    assert (obj.sha256, obj.size) == (_sha(data), len(data))
    assert store.exists(obj.key)
    assert store.get_bytes(obj.key) == data
    dest = store.download(obj.key, tmp_path / "copy.txt")
    assert dest.read_bytes() == data

    stat = _raw(ceph_rgw).stat_object(store.bucket, obj.key)
    assert stat.size == len(data)
    assert stat.content_type == "text/plain; charset=utf-8"
    assert stat.metadata["x-amz-meta-sha256"] == _sha(data)  # the audit copy of the digest

    # writing the same bytes again is the same key and changes nothing
    assert store.put_bytes(data, ext="txt", media_type="text/plain; charset=utf-8") == obj
    assert store.get_bytes(obj.key) == data


def test_multipart_put_file_round_trip(
    ceph_rgw: CephRgw, store: S3ObjectStore, tmp_path: Path,  # noqa: F811
) -> None:
    src = tmp_path / "big.bin"
    digest = hashlib.sha256()
    with src.open("wb") as fh:  # 20 MiB + a ragged tail: three parts of 8 MiB, the last one short
        for _ in range(20):
            chunk = os.urandom(MiB)
            fh.write(chunk)
            digest.update(chunk)
        tail = os.urandom(12345)
        fh.write(tail)
        digest.update(tail)
    size = src.stat().st_size
    assert size > 16 * MiB

    obj = store.put_file(src, ext="bin", media_type="application/octet-stream")
    assert obj.key == content_key(digest.hexdigest(), "bin")
    assert (obj.sha256, obj.size) == (digest.hexdigest(), size)

    stat = _raw(ceph_rgw).stat_object(store.bucket, obj.key)
    assert stat.size == size
    # a multipart upload's ETag is "<md5 of the part md5s>-<number of parts>"
    assert stat.etag.endswith(f"-{math.ceil(size / PART_SIZE)}"), f"not a multipart upload: ETag {stat.etag}"
    assert stat.metadata["x-amz-meta-sha256"] == digest.hexdigest()

    dest = store.download(obj.key, tmp_path / "back.bin")
    assert dest.stat().st_size == size
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == digest.hexdigest()
    assert _sha(store.get_bytes(obj.key)) == digest.hexdigest()

    # put_file of the same content again: same object, still intact
    assert store.put_file(src, ext="bin", media_type="application/octet-stream") == obj
    assert _sha(store.get_bytes(obj.key)) == digest.hexdigest()


def test_missing_object_is_reported_as_not_found(store: S3ObjectStore, tmp_path: Path) -> None:
    key = content_key(_sha(b"never written"), "txt")
    assert not store.exists(key)
    with pytest.raises(ObjectNotFound):
        store.get_bytes(key)
    with pytest.raises(ObjectNotFound):
        store.download(key, tmp_path / "nothing")


def test_wrong_secret_key_is_refused_by_the_server(
    ceph_rgw: CephRgw, store: S3ObjectStore, bucket_name: str,  # noqa: F811
) -> None:
    obj = store.put_bytes(b"for authorised eyes", ext="txt", media_type="text/plain")
    wrong_secret = ceph_rgw.secret_key[::-1] + "x"
    bad = _store(ceph_rgw, bucket_name, secret_key=wrong_secret)

    with pytest.raises(StorageError, match="SignatureDoesNotMatch") as excinfo:
        bad.get_bytes(obj.key)
    assert not isinstance(excinfo.value, ObjectNotFound | ChecksumMismatch)
    with pytest.raises(StorageError):
        bad.exists(obj.key)

    raw_bad = _raw(ceph_rgw, secret_key=wrong_secret)
    sneaky = b"written with a forged signature"
    with pytest.raises(S3Error) as put_err:
        raw_bad.put_object(bucket_name, "forged.txt", io.BytesIO(sneaky), len(sneaky))
    assert put_err.value.code == "SignatureDoesNotMatch"
    assert "forged.txt" not in [o.object_name for o in _raw(ceph_rgw).list_objects(bucket_name)]

    # an unknown access key is refused too, and creating a bucket with it does nothing
    stranger = _store(ceph_rgw, f"{bucket_name}-x", access_key="NOSUCHKEY0000000", secret_key=wrong_secret)
    with pytest.raises(StorageError):
        stranger.ensure_bucket()
    assert not _raw(ceph_rgw).bucket_exists(f"{bucket_name}-x")

    assert store.get_bytes(obj.key) == b"for authorised eyes"  # the right key still works


def test_presigned_get_url_works_and_tampering_is_refused(
    ceph_rgw: CephRgw, store: S3ObjectStore,  # noqa: F811
) -> None:
    data = b"ID3 pretend this is a bulletin mp3" + os.urandom(2048)
    obj = store.put_bytes(data, ext="mp3", media_type="audio/mpeg")
    other = store.put_bytes(b"another object", ext="txt", media_type="text/plain")

    url = store.url(obj.key, expires=timedelta(minutes=10))
    assert url.startswith(ceph_rgw.url + "/")
    assert _fetch(url) == data

    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    sig = query["X-Amz-Signature"]

    def with_query(**changes: str) -> str:
        return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode({**query, **changes})))

    assert _http_status(with_query()) == 200  # re-encoding the query alone changes nothing
    flipped = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    assert _http_status(with_query(**{"X-Amz-Signature": flipped})) == 403
    assert _http_status(with_query(**{"X-Amz-Expires": "604800"})) == 403  # stretching the lifetime
    # the same signature on another object's path
    assert _http_status(urllib.parse.urlunsplit(parts._replace(path=f"/{store.bucket}/{other.key}"))) == 403

    # a correctly signed URL that has expired
    expired = _raw(ceph_rgw).presigned_get_object(
        store.bucket, obj.key, expires=timedelta(seconds=60),
        request_date=datetime.now(UTC) - timedelta(hours=1),
    )
    assert _http_status(expired) == 403


def test_bytes_replaced_behind_the_store_raise_checksum_mismatch(
    ceph_rgw: CephRgw, store: S3ObjectStore, tmp_path: Path  # noqa: F811
) -> None:
    good = b"the approved bulletin text" * 100
    obj = store.put_bytes(good, ext="txt", media_type="text/plain")
    assert store.get_bytes(obj.key) == good

    evil = b"a different bulletin text" * 100
    # replaced with valid credentials, metadata and all: only the key's digest can tell
    _raw(ceph_rgw).put_object(store.bucket, obj.key, io.BytesIO(evil), len(evil),
                              content_type="text/plain", metadata={"sha256": obj.sha256})
    assert _raw(ceph_rgw).get_object(store.bucket, obj.key).read() == evil  # the server really holds them

    with pytest.raises(ChecksumMismatch):
        store.get_bytes(obj.key)
    with pytest.raises(ChecksumMismatch):
        store.download(obj.key, tmp_path / "evil.txt")


def test_data_survives_a_restart_of_the_daemons(
    ceph_rgw: CephRgw, store: S3ObjectStore, tmp_path: Path,  # noqa: F811
) -> None:
    small = b"kept across restarts " + os.urandom(1000)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(17 * MiB + 1))
    a = store.put_bytes(small, ext="txt", media_type="text/plain")
    b = store.put_file(big, ext="bin", media_type="application/octet-stream")

    def pids() -> dict[str, str]:
        assert ceph_rgw.data_dir is not None
        run = ceph_rgw.data_dir / "run"
        return {n: (run / f"{n}.pid").read_text().strip() for n in ("mon", "osd", "radosgw")}

    before = pids() if ceph_rgw.data_dir is not None else {}
    ceph_rgw.restart()  # skips for an external server
    after = pids()
    assert all(before[n] != after[n] for n in before), f"daemons were not restarted: {before} -> {after}"

    # the same store object (its pooled connections died with the old radosgw) and a fresh one
    for s in (store, _store(ceph_rgw, store.bucket)):
        assert s.exists(a.key) and s.exists(b.key)
        assert s.get_bytes(a.key) == small
        assert s.download(b.key, tmp_path / "back.bin").read_bytes() == big.read_bytes()
    # and it still takes writes
    c = store.put_bytes(b"after the restart", ext="txt", media_type="text/plain")
    assert store.get_bytes(c.key) == b"after the restart"
