"""All configuration of photostore, in one ``Settings`` object.

Every setting can be given as an environment variable ``PHOTOSTORE_<NAME>``; the CLI
overrides a few of them from its options. ``docs/configuration.md`` documents each one
(a test fails when one is missing there).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from photostore.auth import passwords

# The default secret of photostore before 0.1, published in its docs: refused everywhere.
_DEV_SECRET = "photostore-development-secret-change-me"


class Settings(BaseSettings):
    """Service configuration; build one per process and pass it down."""

    model_config = SettingsConfigDict(env_prefix="PHOTOSTORE_", extra="ignore", frozen=True)

    environment: Literal["development", "production", "test"] = "development"
    data_dir: Path = Path("photostore-data")
    host: str = "127.0.0.1"
    port: int = 8000

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL the service connects with; unset = embedded PostgreSQL.",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="URL of the role that owns the schema, used for migrations; "
        "defaults to database_url.",
    )
    database_pool_size: int = 10
    embedded_database_check_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How often `serve` checks that the embedded PostgreSQL runs, and starts "
        "it again when it does not (docs/operations.md); 0 = never.",
    )

    blob_dir: Path | None = None

    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs tokens (HS256), at least 32 characters; unset = a random "
        "secret made on first start and kept in the data folder (mode 0600).",
    )
    token_issuer: str = "photostore"
    token_audience: str = "photostore-api"
    access_token_minutes: int = 60

    refresh_token_days: int = Field(
        default=30, description="Lifetime of refresh tokens from login and refresh."
    )
    login_max_failures: int = Field(
        default=10, description="Failed logins per email within the window before 429."
    )
    login_max_failures_per_address: int = Field(
        default=50, description="Failed logins per client address within the window before 429."
    )
    login_window_seconds: int = 900
    trusted_proxies: str = Field(
        default="",
        description="Comma-separated addresses or networks of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed; empty = none (the client "
        "address is the TCP peer), '*' = every peer.",
    )

    encrypt_blobs: bool = Field(
        default=True, description="Encrypt originals and thumbnails at rest (AES-256-GCM)."
    )
    master_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 random bytes; unset = the key file in the data folder.",
    )
    retired_master_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated base64 master keys still accepted for unwrapping "
        "while `photostore keys rotate` moves data keys to master_key.",
    )
    master_key_file: Path | None = Field(
        default=None,
        description="The master keyring file; unset = master.json in the folder "
        "`<data dir>-keys` beside the data folder (never inside it).",
    )

    keys_passphrase: SecretStr | None = Field(
        default=None,
        description="Passphrase of `photostore keys export` / `keys import` / `restore "
        "--keys` files; unset = asked for on the terminal.",
    )

    allow_signup: bool = False
    max_upload_bytes: int = 200 * 1024 * 1024
    max_vector_batch_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1,
        description="Largest body of a bulk vector write (POST /v1/embedding-spaces/{space}/"
        "vectors); larger ones are refused with 413 while streaming.",
    )
    max_json_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1,
        description="Largest JSON or form body of a route that needs authentication (routes "
        "an anonymous caller may reach take 16 KiB); larger ones are refused with 413.",
    )
    min_free_disk_mb: int = Field(
        default=1024,
        ge=0,
        description="Free space (MiB) uploads must leave on the disks of the data folder, the "
        "blob store and the embedded PostgreSQL, kept for the database's WAL; an upload that "
        "would go under it is refused with 507.",
    )
    max_image_pixels: int = 100_000_000
    max_decode_mb: int = Field(
        default=768,
        ge=1,
        description="Memory one decode may need, estimated from the header before decoding "
        "(HEIC, progressive JPEG); images needing more are refused with 422.",
    )
    max_concurrent_decodes: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Images one process decodes at once; default: the number of CPUs.",
    )
    decode_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long an upload waits for a decode slot before 503 with Retry-After.",
    )
    max_concurrent_password_hashes: int = Field(
        default=2,
        ge=1,
        description="Password hashes (argon2id, 64 MiB each) one process computes at once, "
        "for logins, sign-ups and password changes.",
    )
    password_hash_memory_kib: int = Field(
        default=passwords.DEFAULT_MEMORY_KIB,
        ge=passwords.MIN_MEMORY_KIB,
        description="Memory of one password hash (argon2id) in KiB; below OWASP's 19 MiB "
        "only with environment=test.",
    )
    password_hash_time_cost: int = Field(
        default=passwords.DEFAULT_TIME_COST,
        ge=1,
        description="Passes of one password hash (argon2id); below OWASP's 2 only with "
        "environment=test.",
    )
    password_hash_wait_seconds: float = Field(
        default=1.0,
        ge=0,
        description="How long a login waits for a password-hashing slot before 503 with "
        "Retry-After.",
    )
    reject_damaged_images: bool = Field(
        default=False,
        description="Refuse images whose data is truncated or partly corrupt instead of "
        "keeping them marked damaged.",
    )
    staging_sweep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often each serving process removes the staging folders of "
        "processes that died (their plaintext uploads); every start does it too.",
    )
    thumbnail_small_px: int = 256
    thumbnail_preview_px: int = 1440
    log_level: str = "INFO"
    vector_index_min_vectors: int = Field(
        default=20_000,
        ge=1,
        description="Spaces with at least this many vectors get their own HNSW index "
        "from `photostore search optimize`; smaller ones are searched exactly.",
    )
    vector_cache_mb: int = Field(
        default=1024,
        ge=0,
        description="Memory each API process may use to hold large spaces as matrices "
        "for exact in-memory search; 0 turns the cache off.",
    )
    vector_cache_min_vectors: int = Field(
        default=2000,
        ge=1,
        description="Spaces with at least this many vectors are held in the vector cache.",
    )
    vector_cache_refresh_seconds: float = Field(
        default=30.0,
        ge=0,
        description="A space whose vectors changed is brought up to date in the vector cache "
        "at most this often while the change log answers for it (a bulk write: at once).",
    )

    backup_target: Path | None = Field(
        default=None,
        description="A backup folder `serve` backs the data folder up into on a schedule "
        "(docs/operations.md); unset = no scheduled backups. Embedded database only.",
    )
    backup_interval_minutes: float = Field(
        default=24 * 60,
        gt=0,
        description="How often `serve` makes a backup point when backup_target is set.",
    )
    backup_keep: int = Field(
        default=7,
        ge=1,
        description="Points a scheduled backup keeps in the target (with the earlier "
        "points their incremental chains need); older ones and their objects are pruned.",
    )
    backup_archive_seconds: float = Field(
        default=60.0,
        ge=0,
        description="With backup_target, WAL streams into the target continuously and new "
        "blobs are copied this often, so a restore can reach any time up to then; 0 = "
        "points only.",
    )
    backup_full_every: int = Field(
        default=7,
        ge=1,
        description="A scheduled backup is a full one when the newest point's chain holds "
        "this many points; between, each is incremental on the one before.",
    )

    @model_validator(mode="after")
    def _refuse_weak_password_hashes(self) -> Settings:
        if self.environment == "test":
            return self
        if (
            self.password_hash_memory_kib < passwords.OWASP_MIN_MEMORY_KIB
            or self.password_hash_time_cost < passwords.OWASP_MIN_TIME_COST
        ):
            raise ValueError(
                "password hashes below OWASP's minimum for argon2id (19456 KiB, 2 passes) "
                "are for test runs only (PHOTOSTORE_ENVIRONMENT=test); raise "
                "PHOTOSTORE_PASSWORD_HASH_MEMORY_KIB and PHOTOSTORE_PASSWORD_HASH_TIME_COST"
            )
        return self

    @model_validator(mode="after")
    def _refuse_backups_of_external_database(self) -> Settings:
        if self.backup_target is not None and self.database_url is not None:
            raise ValueError(
                "PHOTOSTORE_BACKUP_TARGET backs up the embedded database; an external "
                "PostgreSQL is backed up with its operator's tools (docs/operations.md)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        if self.secret_key is None:
            return self
        secret = self.secret_key.get_secret_value()
        if secret == _DEV_SECRET:
            # Anyone who read the old docs could sign tokens for any user with it.
            raise ValueError(
                "PHOTOSTORE_SECRET_KEY is the development secret published with photostore; "
                "unset it (a random secret is then kept in the data folder) or set a long "
                "random value"
            )
        if len(secret) < 32:
            raise ValueError("PHOTOSTORE_SECRET_KEY must be at least 32 characters long")
        return self

    @property
    def resolved_blob_dir(self) -> Path:
        """Where the local blob store keeps files: ``blob_dir`` or ``<data_dir>/blobs``."""
        return self.blob_dir if self.blob_dir is not None else self.data_dir / "blobs"

    @property
    def resolved_master_key_file(self) -> Path:
        """The master keyring file: ``master_key_file`` or ``<data_dir>-keys/master.json``.

        The default sits beside the data folder, not in it: a copy of the data folder
        (the cold backup) must not carry the key that decrypts its blobs.
        """
        if self.master_key_file is not None:
            return self.master_key_file
        return self.data_dir.parent / f"{self.data_dir.name}-keys" / "master.json"

    @property
    def legacy_master_key_file(self) -> Path:
        """Where photostore before 0.1 kept the key file: ``<data_dir>/keys/master.json``."""
        return self.data_dir / "keys" / "master.json"

    @property
    def token_secret_file(self) -> Path:
        """The generated token secret, used while ``secret_key`` is unset."""
        return self.data_dir / "token-secret.json"

    @property
    def staging_dir(self) -> Path:
        """The staging root, ``<data_dir>/tmp``: each serving process stages uploads in
        a folder of its own below it (``services.staging_area``)."""
        return self.data_dir / "tmp"

    @property
    def embedded_pgdata(self) -> Path:
        """The folder of the embedded PostgreSQL cluster."""
        return self.data_dir / "pgdata"

    @property
    def uses_embedded_database(self) -> bool:
        return self.database_url is None
