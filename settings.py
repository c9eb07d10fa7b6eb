"""Runtime settings: one typed object read from ``BANTIN_*`` environment variables (or a ``.env`` file).

Nothing is read at import time; call :func:`get_settings`. The home defaults to ``var/`` under the current
directory, so a clone works out of the box and keeps its state in one place; it is made absolute when
settings are resolved. The ``.env`` file is the one next to the home (``<home>/../.env``, so ``./.env`` for
the default ``./var``) or the one ``BANTIN_ENV_FILE`` names, never the current directory's: ``bantin`` run
from anywhere with the same ``BANTIN_HOME`` opens the same installation.
"""

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # No ``.env`` by default: :func:`get_settings` passes the one next to the home (see :func:`locate`).
    model_config = SettingsConfigDict(env_prefix="BANTIN_", env_file=None, extra="ignore")

    home: Path = Field(default=Path("var"), description="Where state lives: database, objects, Prefect home.")
    database_url: str = Field(default="", description="SQLAlchemy URL; default sqlite:///<home>/bantin.db")

    store: Literal["local", "s3"] = "local"
    store_dir: Path | None = Field(default=None, description="Local object store root; default <home>/objects")
    s3_endpoint: str = ""  # host:port
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "bantin"
    s3_secure: bool = True
    s3_region: str = "us-east-1"
    # A hung S3 server must fail a step fast (the SDK's default read timeout is 300 s).
    s3_connect_timeout_s: float = Field(default=5.0, gt=0.0, le=120.0)
    s3_read_timeout_s: float = Field(default=30.0, gt=0.0, le=600.0)

    # Loudspeaker audio: EBU R128 normalisation to a speech target, then MP3 at a fixed rate (engines/audio.py).
    loudness_i: float = Field(default=-16.0, ge=-40.0, le=-5.0)
    loudness_tp: float = Field(default=-1.5, ge=-9.0, le=0.0)
    loudness_lra: float = Field(default=11.0, ge=1.0, le=50.0)
    audio_sample_rate: int = 44100
    audio_bitrate: str = "128k"

    # Summaries: a loudspeaker script of at most this many estimated seconds, a board text of N lines.
    script_seconds: float = Field(default=60.0, gt=5.0, le=900.0)
    board_lines: int = Field(default=6, ge=1, le=20)
    # Script length is estimated on the normalised speech text at the measured rate of the voice that reads
    # it (prompts/speech/rates.tsv: syllables per second and pauses, per voice; engines/speaking_rate.py).
    # Set this to override the measured syllable rate (the pauses stay as measured).
    speech_syllables_per_second: float | None = Field(default=None, ge=1.5, le=6.0)
    # A draft whose newest date is older than this many days is flagged as possibly old news.
    freshness_max_age_days: int = Field(default=90, ge=1, le=3650)

    model_registry: Path | None = Field(default=None, description="Model registry TOML; default <home>/models.toml")
    model_cache: Path | None = Field(default=None, description="Assembled bundled weights; default <home>/models")

    espeak_voice: str = "vi"
    # Acronyms read as words (TSV like prompts/speech/acronyms.tsv), added over the shipped list.
    speech_acronyms: Path | None = None
    font_dir: Path | None = None  # extra fonts, searched before the system's

    # Web app: the session secret defaults to one generated into <home>/secret_key on first start.
    secret_key: str = ""
    secure_cookies: bool = False  # set true behind HTTPS
    api_token_days: int = Field(default=30, ge=1, le=365)
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks, comma-separated); empty:
    # the header is ignored and the connecting address is the client (for the login throttle).
    trusted_proxies: str = ""

    http_timeout: float = 10.0
    delivery_max_attempts: int = Field(default=5, ge=1, le=50)
    delivery_backoff_seconds: float = Field(default=2.0, ge=0.0, le=600.0)  # doubles per attempt, with jitter

    # --- language engines (translation, voices) ---
    # Operator glossaries (<language>.tsv) that replace the shipped prompts/glossaries files per language.
    glossary_dir: Path | None = None
    mt_beam_size: int = Field(default=4, ge=1, le=8)  # beam search for NLLB/Marian; 4 is NLLB's own default
    mt_max_tokens: int = Field(default=256, ge=16, le=1024)  # per sentence; stops a looping model
    # Summaries by a seq2seq or instruction model: decoding length cap (the speech-seconds cap still applies).
    summary_max_tokens: int = Field(default=256, ge=16, le=2048)

    # --- devices, signing and MQTT ---
    # Absolute base URL devices, receivers and feed readers use for file links (e.g. https://bantin.example.vn);
    # empty: the URL of the request that asked (schedules, feeds), else the web app's address below (HTTTN
    # payloads, MQTT messages): see :attr:`Settings.base_url`.
    public_base_url: str = ""
    # Where `bantin serve` listens by default (its --host and --port override these, for its workers too).
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535)
    # How long the asset links in HTTTN payloads stay valid (bantin's signed links, or S3 presigned URLs).
    asset_url_ttl_s: int = Field(default=172800, ge=60, le=604800)
    device_lookahead_hours: int = Field(default=48, ge=1, le=168)
    device_clock_skew_s: int = Field(default=300, ge=10, le=3600)  # accepted X-Bantin-Timestamp drift
    # How long a node answers polls from memory alone (device keys, schedules checked against the database).
    device_cache_s: float = Field(default=5.0, ge=0.0, le=300.0)
    # A built schedule is reused while nothing it depends on changed, for at most this long (time-driven changes).
    device_schedule_ttl_s: float = Field(default=60.0, ge=0.0, le=3600.0)
    # The area map and the retired areas devices are matched against (they change with a seed reload or a move).
    area_cache_s: float = Field(default=60.0, ge=0.0, le=3600.0)
    device_registrations_per_hour: int = Field(default=30, ge=1, le=100_000)  # per client address (x20 overall)
    key_grace_days: int = Field(default=14, ge=1, le=365)  # old signing key still listed after a rotation
    emergency_repeat_s: int = Field(default=600, ge=30, le=86400)  # replay interval of an emergency
    emergency_default_minutes: int = Field(default=120, ge=5, le=10080)  # lifetime of one without an expiry
    mqtt_host: str = ""  # empty: emergencies go out through the pull channel only
    mqtt_port: int = Field(default=1883, ge=1, le=65535)
    mqtt_username: str = ""
    mqtt_password: str = ""
    mqtt_tls: bool = False
    mqtt_timeout_s: float = Field(default=10.0, gt=0.0, le=120.0)
    delivery_concurrency: int = Field(default=16, ge=1, le=256)  # HTTP pushes in flight per publish

    # --- streams: Icecast for relays (engines/icecast.py, services/streaming.py) ---
    icecast_serve: bool = True  # `bantin serve` runs icecast2 beside the web app when it is installed
    icecast_port: int = Field(default=8010, ge=1, le=65535)
    icecast_bind: str = "127.0.0.1"
    # Base URL devices listen at (e.g. https://radio.bantin.example.vn); empty: http://<bind>:<port>.
    icecast_public_url: str = ""
    # bantin's listener check Icecast calls for every listener; empty: http://127.0.0.1:8000/icecast/v1/listener.
    icecast_auth_url: str = ""
    stream_token_grace_s: int = Field(default=600, ge=0, le=86400)  # a listen URL outlives its slot by this
    # Relay airings `bantin serve` carries at once (a worker of their own: they never hold an emergency's slot).
    relay_worker_limit: int = Field(default=8, ge=1, le=256)
    # An upstream checked before a source is saved, and silent this long mid-slot, counts as down.
    relay_probe_timeout_s: float = Field(default=15.0, ge=1.0, le=120.0)
    # A live session from a browser stops after this long; a browser silent for live_grace_s ends it.
    live_max_minutes: int = Field(default=30, ge=1, le=240)
    live_grace_s: float = Field(default=10.0, gt=0.0, le=300.0)
    # The process carrying a relay airing or a live session marks it alive this often; the sweeper fails one
    # whose carrier was silent for carrier_timeout_s, or that is that long past its end (services/carriers.py).
    # The timeout must cover at least three heartbeats.
    carrier_heartbeat_s: float = Field(default=20.0, ge=1.0, le=600.0)
    carrier_timeout_s: float = Field(default=120.0, ge=10.0, le=3600.0)

    # --- orchestration: crash recovery and fairness ---
    # A delivery left "sending" this long (its runner died) may be claimed again; the sweeper fails it so the
    # next publish retries it with the same idempotency key.
    delivery_claim_timeout_s: float = Field(default=120.0, ge=1.0, le=86400.0)
    # A package left "producing" this long (its run died) is re-queued by the sweeper.
    producing_timeout_s: float = Field(default=1800.0, ge=10.0, le=86400.0)
    # A flow run on the work pool whose heartbeat (every 30 s: PREFECT_FLOWS_HEARTBEAT_FREQUENCY) stopped this
    # long, or left pending this long, lost its worker (a machine crash): the sweeper marks it crashed, which
    # frees its queue's concurrency slot, and queues it again. A running run that never sent a heartbeat (a
    # worker started without them) is judged only after silent_run_timeout_s.
    run_lease_s: float = Field(default=150.0, ge=60.0, le=86400.0)
    silent_run_timeout_s: float = Field(default=21600.0, ge=60.0, le=604800.0)
    # How often the sweeper runs (crash recovery, MQTT re-pushes), and the MQTT retry backoff base.
    sweep_interval_s: int = Field(default=60, ge=5, le=3600)
    # The sweeper signs an audit checkpoint whenever the log grew since the last one, at most this often, and
    # appends it to the auditor's file too when one is set (``bantin audit checkpoint --file``).
    audit_checkpoint_interval_s: int = Field(default=300, ge=0, le=86400)
    audit_checkpoint_file: Path | None = None
    mqtt_retry_backoff_s: float = Field(default=30.0, ge=0.0, le=3600.0)
    # Flow runs the worker `bantin serve` starts runs at once (each is a process; more only thrash 2 cores).
    worker_limit: int = Field(default=4, ge=1, le=256)
    # The database of the Prefect server that `bantin serve` and `bantin prefect up` start: empty, SQLite under
    # <home>/prefect; a PostgreSQL URL (created if missing) takes concurrent writes, so an emergency's run is
    # created at once while a burst of runs comes in (deployments/prefect_db.py).
    prefect_database_url: str = ""
    # Production runs (produce, transcribe, programmes) execute inside one warm worker process that keeps models
    # loaded (deployments/warm.py); false: a process per run, like every other queue.
    warm_worker: bool = True
    # Flow runs one user may have waiting (scheduled or pending) before the web app answers 429.
    max_queued_runs_per_user: int = Field(default=10, ge=1, le=1000)

    # --- programs ---
    # Scheduled programmes: default length cap and gap, how early an edition is final (devices download it
    # ahead of airtime), how far ahead the program flow builds, and how often its deployment runs.
    program_max_minutes: float = Field(default=15.0, ge=0.5, le=180.0)
    program_gap_s: float = Field(default=2.0, ge=0.0, le=30.0)
    program_lead_minutes: float = Field(default=30.0, ge=0.0, le=1440.0)
    program_horizon_hours: float = Field(default=36.0, ge=1.0, le=168.0)
    program_build_interval_s: int = Field(default=900, ge=5, le=86400)
    # Size of the Prefect global concurrency limit ``bantin-ml`` that deployments create (heavy ML jobs at once).
    ml_concurrency: int = Field(default=1, ge=1, le=64)

    # --- operations reports ---
    # A device is online when heard from within device_online_s, offline after device_offline_s, stale between.
    device_online_s: int = Field(default=300, ge=30, le=86400)
    device_offline_s: int = Field(default=3600, ge=60, le=30 * 86400)
    # Header of periodic reports: the issuing body (upper line) and unit (lower line); empty: the area's name.
    report_authority: str = ""
    report_unit: str = ""
    reports_interval_s: int = Field(default=600, ge=30, le=86400)  # how often the reports flow folds rollups

    # --- archive search ---
    # Recordings transcribed at once by one ingest run (each also holds a slot of the bantin-ml limit).
    archive_ingest_workers: int = Field(default=2, ge=1, le=16)

    # --- citizens' feedback ---
    # TOML with categories, routing rules, extra days off (see services/feedback_config.py); empty: built-in.
    feedback_config: Path | None = None
    # Days after which a feedback item's contact data and voice message are erased (None: the file's, 365).
    feedback_retention_days: int | None = Field(default=None, ge=1, le=3650)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        return home.expanduser().resolve()

    @model_validator(mode="after")
    def _fill_paths(self) -> "Settings":
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.home / 'bantin.db').as_posix()}"
        if self.store_dir is None:
            self.store_dir = self.home / "objects"
        if self.model_registry is None:
            self.model_registry = self.home / "models.toml"
        if self.model_cache is None:
            self.model_cache = self.home / "models"
        if self.trusted_proxies:
            from ipaddress import ip_network

            for part in self.trusted_proxies.split(","):
                if part.strip():
                    try:
                        ip_network(part.strip(), strict=False)
                    except ValueError:
                        raise ValueError(f"BANTIN_TRUSTED_PROXIES: '{part.strip()}' is not an address or "
                                         "network") from None
        if self.public_base_url and not self.public_base_url.startswith(("http://", "https://")):
            raise ValueError("BANTIN_PUBLIC_BASE_URL must be an http:// or https:// URL")
        if self.carrier_timeout_s < 3 * self.carrier_heartbeat_s:
            raise ValueError("BANTIN_CARRIER_TIMEOUT_S must cover at least three heartbeats (3 x "
                             "BANTIN_CARRIER_HEARTBEAT_S): the sweeper would fail airings still carried")
        if self.store == "s3" and not (self.s3_endpoint and self.s3_access_key and self.s3_secret_key):
            raise ValueError("BANTIN_STORE=s3 needs BANTIN_S3_ENDPOINT, BANTIN_S3_ACCESS_KEY and BANTIN_S3_SECRET_KEY")
        return self

    @property
    def base_url(self) -> str:
        """Where this installation's web app is reached, without a trailing slash: ``BANTIN_PUBLIC_BASE_URL``, else
        ``http://<web_host>:<web_port>`` (a wildcard bind is reached on loopback; set the public base URL for
        receivers on other machines)."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        host = "127.0.0.1" if self.web_host in ("", "0.0.0.0") else "[::1]" if self.web_host == "::" else self.web_host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.web_port}"


def locate() -> tuple[Path, Path]:
    """The installation's home and its ``.env`` file, both absolute, from the environment alone.

    The ``.env`` is ``BANTIN_ENV_FILE`` if set, else the file next to the home (``BANTIN_HOME``, default
    ``var``). A relative ``BANTIN_HOME`` in the environment is taken from the current directory; one written
    in the ``.env`` file is taken from the file's directory (it then moves the home, not the file).
    """
    home = Path(os.environ.get("BANTIN_HOME") or "var").expanduser().resolve()
    explicit = os.environ.get("BANTIN_ENV_FILE")
    env_file = Path(explicit).expanduser().resolve() if explicit else home.parent / ".env"
    if not os.environ.get("BANTIN_HOME") and env_file.is_file():
        from dotenv import dotenv_values

        written = {k.upper(): v for k, v in dotenv_values(env_file).items()}.get("BANTIN_HOME")
        if written:
            home = (env_file.parent / Path(written).expanduser()).resolve()
    return home, env_file


def pin_environment() -> None:
    """Write the resolved home and ``.env`` back into the environment, so every process this one starts
    (workers, servers, flow runs in another directory) opens the same installation."""
    home, env_file = locate()
    os.environ["BANTIN_HOME"] = str(home)
    os.environ["BANTIN_ENV_FILE"] = str(env_file)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    home, env_file = locate()
    return Settings(_env_file=env_file, home=home)  # type: ignore[call-arg]  # pydantic-settings' init-only option


def prefect_defaults(home: Path) -> None:
    """Prefect reads its settings from the environment at import; set safe offline defaults first.

    Telemetry off on both sides (Prefect's only outbound calls: the server's analytics, and since 3.8 the
    client SDK's events, which honour ``DO_NOT_TRACK``), a longer ephemeral start-up timeout (a cold start on
    2 cores takes ~20 s), and a Prefect home inside ``home``. Values already set win. Importing ``tasks``
    (which ``flows`` and ``deployments`` do first) calls this with the installation's home, so no Prefect
    import in bantin runs without it.
    """
    defaults = {
        "PREFECT_HOME": str((home / "prefect").resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_LOGGING_EXTRA_LOGGERS": "engines,storage",
        # Every flow run says it is alive (an event every 30 s, Prefect's minimum): the sweeper tells a run
        # whose machine died from a slow one by it (tasks.lost_runs.recover_lost_runs).
        "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        # No Prefect result cache for tasks: bantin's steps skip work already recorded and stored themselves
        # (idempotent, content-addressed), and results are not persisted, so the default policy only cost each
        # task run a hash of its inputs and source and a lookup in the result store.
        "PREFECT_TASKS_DEFAULT_NO_CACHE": "true",
    }
    for key, value in defaults.items():
        os.environ.setdefault(key, value)


def configure_prefect_env(settings: Settings) -> None:
    """:func:`prefect_defaults`, and the local Prefect server that ``bantin serve`` or ``bantin prefect up``
    runs for this installation when ``PREFECT_API_URL`` names none (asked over loopback, so only where a
    command is about to run or start flows)."""
    prefect_defaults(settings.home)
    if not os.environ.get("PREFECT_API_URL"):
        url = running_local_server(settings)
        if url:  # `bantin serve` or `bantin prefect up` runs one: no temporary server per command
            os.environ["PREFECT_API_URL"] = url


def local_server_file(settings: Settings) -> Path:
    """Where ``bantin serve`` and ``bantin prefect up`` record the local Prefect server they started."""
    return settings.home / "prefect" / "server.json"


def running_local_server(settings: Settings) -> str:
    """The API URL of the local Prefect server recorded under ``<home>/prefect`` if it answers, else ""."""
    import json

    path = local_server_file(settings)
    try:
        url = str(json.loads(path.read_text(encoding="utf-8"))["api_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    import httpx

    try:
        return url if httpx.get(f"{url}/health", timeout=1.0).json() is True else ""
    except (httpx.HTTPError, ValueError):
        return ""
