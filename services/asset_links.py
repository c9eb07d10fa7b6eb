"""Asset URLs a receiver can fetch: what ``bantin.package/1`` payloads carry in ``assets[].url``.

* S3 store: a presigned GET URL from the S3 server (expires after ``BANTIN_ASSET_URL_TTL_S``).
* Local store: ``<base>/htttn/v1/assets/<key>?exp=<unix>&kid=<key id>&sig=<sig>``, served by bantin's web app
  with byte ranges; ``<base>`` is ``BANTIN_PUBLIC_BASE_URL``, else the address the web app listens on
  (``BANTIN_WEB_HOST``/``BANTIN_WEB_PORT``, what ``bantin serve`` binds: see ``Settings.base_url``). ``sig`` is
  the installation's Ed25519 signature (the keys of ``GET /device/v1/keys``) over ``bantin.asset-link/1``, the
  key and the expiry, so a link cannot be made for another object or extended, and it stays valid across a key
  rotation while the old key is listed. Never ``file://``: receivers fetch over HTTP(S) only.

Payloads are built when each row of the outbox is sent, so a resend carries fresh links. The payload's
``sha256`` and ``size`` of each asset are what a receiver checks the fetched bytes against.
"""

from datetime import datetime, timedelta
from urllib.parse import quote

from domain.errors import Forbidden
from domain.signatures import SignatureInvalid, sign_bytes, verify_bytes
from services import signing
from settings import get_settings
from storage.objects import LocalObjectStore, ObjectStore

PATH = "/htttn/v1/assets/"


def _message(key: str, exp: int) -> bytes:
    return f"bantin.asset-link/1\n{key}\n{exp}".encode()


def signed_url(base_url: str, key: str, *, now: datetime, ttl: timedelta) -> str:
    """A link to ``key`` on bantin's web app, valid until ``now + ttl``."""
    exp = int((now + ttl).timestamp())
    current = signing.current_key()
    sig = sign_bytes(current, _message(key, exp))
    return (f"{base_url.rstrip('/')}{PATH}{quote(key)}?exp={exp}&kid={quote(current.key_id, safe='')}"
            f"&sig={quote(sig, safe='')}")


def check(key: str, *, exp: str, kid: str, sig: str, now: datetime) -> None:
    """Accept a link made by :func:`signed_url` for ``key`` until it expires.

    Raises:
        Forbidden: expired, malformed, or not signed by a listed key of this installation for this key.
    """
    if not exp.isdigit() or len(exp) > 12:
        raise Forbidden("this asset link is malformed")
    if int(exp) < now.timestamp():
        raise Forbidden("this asset link has expired; ask for the package to be sent again")
    public = signing.trusted_keys(now).get(kid)
    if public is None:
        raise Forbidden("this asset link is not signed by a key of this installation")
    try:
        verify_bytes(public, _message(key, int(exp)), sig)
    except SignatureInvalid:
        raise Forbidden("this asset link's signature does not match") from None


def asset_url(store: ObjectStore, key: str, *, base_url: str, now: datetime, ttl: timedelta) -> str:
    """The http(s) URL a receiver fetches ``key`` by (see the module's docstring for which kind); an empty
    ``base_url`` means the installation's (``Settings.base_url``)."""
    if isinstance(store, LocalObjectStore):
        return signed_url(base_url or get_settings().base_url, key, now=now, ttl=ttl)
    return store.url(key, expires=ttl)
