"""The installation's Icecast: its secrets, its configuration, the listen URLs devices get, and the listener check.

Secrets live in ``<home>/icecast/secrets.json`` (mode 0600), generated on first use like the signing keys
(``services.signing``): the source password ffmpeg feeds mounts with, the admin password, and the listen
secret that signs devices' listen URLs (``domain.streams``). Every node of an installation shares the home,
so every node signs and checks the same tokens. The generated ``icecast.xml`` is written beside them.
"""

import json
import logging
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from domain.streams import Listener, TokenRefused, area_mount, listen_url, verify_listener
from engines.errors import EngineError
from engines.icecast import Encoding, IcecastConfig, IcecastServer, SourceTarget, default_run_as
from services.runtime import session
from settings import Settings, get_settings
from storage.repositories import relays as relay_repo

log = logging.getLogger(__name__)
SECRETS_FILE = "secrets.json"


@dataclass(frozen=True)
class StreamSecrets:
    source_password: str
    admin_password: str
    listen_secret: bytes


def icecast_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).home / "icecast"


def stream_secrets(settings: Settings | None = None) -> StreamSecrets:
    """The installation's Icecast secrets, generated once (the first writer wins between processes)."""
    directory = icecast_dir(settings)
    path = directory / SECRETS_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = {"source_password": secrets.token_urlsafe(24), "admin_password": secrets.token_urlsafe(24),
                 "listen_secret": secrets.token_hex(32)}
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made them a moment ago: use theirs
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(fresh))
                fh.flush()
                os.fsync(fh.fileno())
    for _ in range(50):  # a file another process is writing right now reads empty for a moment
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            break
        except ValueError:
            time.sleep(0.02)
    else:
        raise RuntimeError(f"{path} is not valid JSON")
    return StreamSecrets(data["source_password"], data["admin_password"], bytes.fromhex(data["listen_secret"]))


def public_url(settings: Settings | None = None) -> str:
    """The base URL devices listen at."""
    st = settings or get_settings()
    return (st.icecast_public_url or f"http://{st.icecast_bind}:{st.icecast_port}").rstrip("/")


def auth_url(settings: Settings | None = None) -> str:
    st = settings or get_settings()
    return st.icecast_auth_url or "http://127.0.0.1:8000/icecast/v1/listener"


def icecast_config(area_codes: list[str] | tuple[str, ...] = (), settings: Settings | None = None,
                   port: int | None = None, auth: str | None = None) -> IcecastConfig:
    """The configuration bantin runs Icecast with: a mount per area in ``area_codes``, every mount behind the
    listener check."""
    st = settings or get_settings()
    sec = stream_secrets(st)
    return IcecastConfig(directory=icecast_dir(st), port=port or st.icecast_port, source_password=sec.source_password,
                         admin_password=sec.admin_password, bind_address=st.icecast_bind,
                         auth_url=auth or auth_url(st), mounts=tuple(area_mount(c) for c in sorted(set(area_codes))),
                         run_as=default_run_as())


def icecast_server(area_codes: list[str] | tuple[str, ...] = (), **kwargs: object) -> IcecastServer:
    """An (unstarted) Icecast child process for this installation."""
    return IcecastServer(icecast_config(area_codes, **kwargs))  # type: ignore[arg-type]  # kwargs passed through unchanged


@contextmanager
def serving(auth: str) -> Iterator[IcecastServer | None]:
    """Icecast for ``bantin serve`` (one machine): started when enabled and installed, else None with the reason
    logged; stopped on exit. A port in use or a missing binary never stops the web app."""
    st = get_settings()
    if not st.icecast_serve:
        yield None
        return
    with session() as s:
        codes = sorted({r.area_code for r in relay_repo.list_slots(s, active_only=True)})
    server = IcecastServer(icecast_config(codes, settings=st, auth=auth), own_session=False)
    try:
        server.start()
    except EngineError as exc:
        log.warning("Icecast not started (relays will not reach devices): %s", exc)
        yield None
        return
    try:
        yield server
    finally:
        server.stop()


def mount_target(area_code: str, settings: Settings | None = None) -> SourceTarget:
    """Where an area's mount is fed (a feed sends there with the source password in a header, not in argv)."""
    st = settings or get_settings()
    host = "127.0.0.1" if st.icecast_bind in ("0.0.0.0", "::", "") else st.icecast_bind
    return SourceTarget(host, st.icecast_port, area_mount(area_code), stream_secrets(st).source_password)


def mount_has_source(mount: str) -> bool:
    """Whether the installation's Icecast has a source on ``mount`` now (False when it does not answer)."""
    import dataclasses

    import httpx

    st = get_settings()
    host = "127.0.0.1" if st.icecast_bind in ("0.0.0.0", "::", "") else st.icecast_bind
    try:
        server = IcecastServer(dataclasses.replace(icecast_config(settings=st), bind_address=host))
        return mount in server.sources()
    except (httpx.HTTPError, ValueError):
        return False


def encoding(settings: Settings | None = None) -> Encoding:
    st = settings or get_settings()
    return Encoding(st.loudness_i, st.loudness_tp, st.loudness_lra, st.audio_sample_rate, st.audio_bitrate)


def device_listen_url(device_id: int, area_code: str, expires: int, settings: Settings | None = None) -> str:
    """The signed URL device ``device_id`` plays its area's mount with, valid until ``expires`` (unix s)."""
    st = settings or get_settings()
    return listen_url(public_url(st), stream_secrets(st).listen_secret, area_mount(area_code), device_id, expires)


def check_listener(mount: str, client_ip: str = "", now: float | None = None) -> Listener | None:
    """Icecast's ``listener_add``: the listener it describes, or None (refused, logged with the reason): the
    token must verify and its device must still be authorised."""
    from services import devices  # here: services.devices reaches this module through services.relays

    try:
        found = verify_listener(stream_secrets().listen_secret, mount, time.time() if now is None else now)
    except TokenRefused as exc:
        log.warning("listener refused at %s from %s: %s", mount.split("?", 1)[0][:80], client_ip or "?", exc)
        return None
    with session() as s:
        if not devices.may_listen(s, found.device_id):
            log.warning("listener refused at %s: device %s is not authorised", found.mount, found.device_id)
            return None
    log.info("device %s listens to %s", found.device_id, found.mount)
    return found
