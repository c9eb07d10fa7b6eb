"""Object storage: a local directory (default) or any S3 server through the minio SDK.

Asset keys are content-addressed (see ``domain.keys``): writing the same bytes twice writes the same key,
and every read of a content key is checked against the SHA-256 the key names.
"""

import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

import urllib3
import urllib3.exceptions
from minio import Minio
from minio.error import S3Error

from domain.keys import content_key, sha256_of_key
from settings import Settings
from storage.errors import ChecksumMismatch, ObjectNotFound, StorageError

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class StoredObject:
    key: str
    sha256: str
    size: int
    media_type: str


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@contextmanager
def _s3_errors(op: str, key: str, endpoint: str) -> Iterator[None]:
    """Turn SDK and network failures into storage errors callers can catch (and retry)."""
    try:
        yield
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject"):
            raise ObjectNotFound(f"object {key} not found") from None
        raise StorageError(f"{op} {key} on {endpoint}: {exc.code}: {exc.message}") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise StorageError(f"{op} {key}: S3 server at {endpoint} unreachable: {exc}") from exc


def _verified_copy(write: Callable[[Path], object], key: str, dest: Path) -> Path:
    """Write to a temporary file beside ``dest``, check it, and only then rename it into place, so a
    failed check never leaves bad bytes where the caller expects good ones."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=".dl-")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        _check(key, _hash_file(tmp)[0])
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _check(key: str, data_sha: str) -> None:
    expected = sha256_of_key(key)
    if expected is not None and expected != data_sha:
        raise ChecksumMismatch(f"object {key}: content hashes to {data_sha[:12]}…, the key promises {expected[:12]}…")


class ObjectStore(Protocol):
    """What tasks need from object storage. Implementations verify content keys on every read."""

    def put_file(self, path: Path, *, ext: str, media_type: str) -> StoredObject: ...
    def put_bytes(self, data: bytes, *, ext: str, media_type: str) -> StoredObject: ...
    def put_at(self, key: str, data: bytes, *, media_type: str) -> StoredObject: ...
    def get_bytes(self, key: str) -> bytes: ...
    def download(self, key: str, dest: Path) -> Path: ...
    def exists(self, key: str) -> bool: ...
    def url(self, key: str, *, expires: timedelta = timedelta(hours=48)) -> str: ...
    def delete(self, key: str) -> None: ...
    def describe(self) -> str: ...


class LocalObjectStore:
    """Objects as files under ``root``; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or key.startswith("/"):
            raise StorageError(f"object key escapes the store: {key!r}")
        return path

    def _write(self, key: str, src: BinaryIO) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out, _CHUNK)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def put_file(self, path: Path, *, ext: str, media_type: str) -> StoredObject:
        sha, size = _hash_file(path)
        key = content_key(sha, ext)
        with path.open("rb") as src:  # always rewrite: repairs a damaged copy; same key, same bytes
            self._write(key, src)
        return StoredObject(key, sha, size, media_type)

    def put_bytes(self, data: bytes, *, ext: str, media_type: str) -> StoredObject:
        sha = hashlib.sha256(data).hexdigest()
        return self.put_at(content_key(sha, ext), data, media_type=media_type)

    def put_at(self, key: str, data: bytes, *, media_type: str) -> StoredObject:
        sha = hashlib.sha256(data).hexdigest()
        _check(key, sha)
        self._write(key, io.BytesIO(data))
        return StoredObject(key, sha, len(data), media_type)

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key} not found in {self.root}") from None
        _check(key, hashlib.sha256(data).hexdigest())
        return data

    def download(self, key: str, dest: Path) -> Path:
        path = self._path(key)
        if not path.exists():
            raise ObjectNotFound(f"object {key} not found in {self.root}")
        return _verified_copy(lambda tmp: shutil.copyfile(path, tmp), key, dest)

    def exists(self, key: str) -> bool:
        return self._path(key).exists()

    def url(self, key: str, *, expires: timedelta = timedelta(hours=48)) -> str:
        return self._path(key).as_uri()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def describe(self) -> str:
        return f"local directory {self.root}"

    def keys(self, prefix: str = "") -> Iterator[str]:
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    yield key


def _http_pool(connect_timeout_s: float, read_timeout_s: float) -> urllib3.PoolManager:
    """The SDK's pool with bounded waits: a hung server fails a step in seconds instead of the 300 s default.

    Server errors (5xx) and refused connections are retried twice with a short backoff; a read that timed out is
    retried once.
    """
    import certifi

    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=connect_timeout_s, read=read_timeout_s), maxsize=10,
        cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
        retries=urllib3.Retry(total=2, connect=2, read=1, backoff_factor=0.2,
                              status_forcelist=[500, 502, 503, 504]))


class S3ObjectStore:
    """Objects in one bucket of an S3 server (MinIO, Ceph RGW, AWS), through the minio SDK.

    The SHA-256 is also kept as user metadata so operators can audit a bucket without downloading it;
    it is never trusted in place of hashing the bytes. SDK and network failures surface as
    ``StorageError`` (``ObjectNotFound`` for a missing key).
    """

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = True,
        region: str = "us-east-1",
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 30.0,
    ) -> None:
        self.bucket = bucket
        self.endpoint = endpoint
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=region,
                            http_client=_http_pool(connect_timeout_s, read_timeout_s))

    def ensure_bucket(self) -> None:
        """Create the bucket if missing (idempotent)."""
        try:
            with _s3_errors("create bucket", self.bucket, self.endpoint):
                if not self.client.bucket_exists(self.bucket):
                    self.client.make_bucket(self.bucket)
        except StorageError as exc:
            cause = exc.__cause__
            if not (isinstance(cause, S3Error) and cause.code == "BucketAlreadyOwnedByYou"):
                raise

    def exists(self, key: str) -> bool:
        try:
            with _s3_errors("stat", key, self.endpoint):
                self.client.stat_object(self.bucket, key)
        except ObjectNotFound:
            return False
        return True

    def put_file(self, path: Path, *, ext: str, media_type: str) -> StoredObject:
        sha, size = _hash_file(path)
        key = content_key(sha, ext)
        # Always upload: rewriting a content key is harmless and repairs a damaged copy.
        with _s3_errors("upload", key, self.endpoint):
            self.client.fput_object(self.bucket, key, str(path), content_type=media_type,
                                    metadata={"sha256": sha}, part_size=8 * _CHUNK)
        return StoredObject(key, sha, size, media_type)

    def put_bytes(self, data: bytes, *, ext: str, media_type: str) -> StoredObject:
        sha = hashlib.sha256(data).hexdigest()
        return self.put_at(content_key(sha, ext), data, media_type=media_type)

    def put_at(self, key: str, data: bytes, *, media_type: str) -> StoredObject:
        sha = hashlib.sha256(data).hexdigest()
        _check(key, sha)
        with _s3_errors("upload", key, self.endpoint):
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=media_type,
                                   metadata={"sha256": sha})
        return StoredObject(key, sha, len(data), media_type)

    def get_bytes(self, key: str) -> bytes:
        with _s3_errors("get", key, self.endpoint):
            resp = self.client.get_object(self.bucket, key)
            try:
                data = resp.read()
            finally:
                resp.close()
                resp.release_conn()
        _check(key, hashlib.sha256(data).hexdigest())
        return data

    def download(self, key: str, dest: Path) -> Path:
        def fetch(tmp: Path) -> None:
            with _s3_errors("download", key, self.endpoint):
                self.client.fget_object(self.bucket, key, str(tmp))

        return _verified_copy(fetch, key, dest)

    def url(self, key: str, *, expires: timedelta = timedelta(hours=48)) -> str:
        with _s3_errors("presign", key, self.endpoint):
            return self.client.presigned_get_object(self.bucket, key, expires=expires)

    def delete(self, key: str) -> None:
        with _s3_errors("delete", key, self.endpoint):
            self.client.remove_object(self.bucket, key)

    def describe(self) -> str:
        return f"S3 bucket {self.bucket} at {self.endpoint}"


def make_object_store(settings: Settings) -> ObjectStore:
    """Build the store the settings name; the S3 bucket is created if missing."""
    if settings.store == "s3":
        store = S3ObjectStore(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            connect_timeout_s=settings.s3_connect_timeout_s,
            read_timeout_s=settings.s3_read_timeout_s,
        )
        store.ensure_bucket()
        return store
    assert settings.store_dir is not None
    return LocalObjectStore(settings.store_dir)
