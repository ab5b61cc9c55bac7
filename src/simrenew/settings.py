"""One validated settings object, read from SIMRENEW_* environment variables or a .env file."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the platform can be configured with; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="SIMRENEW_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    sms_transport: Literal["log", "kannel", "smpp"] = "log"
    language: Literal["en", "ar", "zh"] = "en"
    secret_key: str = ""
    quote_ttl_seconds: int = Field(default=900, gt=0)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    worker_interval_seconds: float = Field(default=2.0, gt=0)
    db_pool_size: int = Field(default=10, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Where simrenew is reachable from outside (SMS delivery reports, payment callbacks).
    public_url: str = "http://127.0.0.1:8000"
    # No bulk SMS (reminders, lifecycle notices) in these Asia/Kuwait hours; empty disables.
    quiet_hours: str = "21:00-09:00"
    sweep_batch_size: int = Field(default=5000, gt=0)
    outbox_batch_size: int = Field(default=500, gt=0)
    outbox_max_attempts: int = Field(default=8, gt=0)
    sms_rate_per_second: float = Field(default=50.0, gt=0)  # what the SMSC allows
    kannel_sendsms_url: str = "http://127.0.0.1:13013/cgi-bin/sendsms"
    kannel_username: str = "simrenew"
    kannel_password: str = ""
    sms_sender: str = "simrenew"
    smpp_host: str = "127.0.0.1"
    smpp_port: int = 2775
    smpp_system_id: str = "simrenew"
    smpp_password: str = ""

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'simrenew.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The signing secret: configured, or generated once into the data directory (dev only)."""
        if self.secret_key:
            return self.secret_key
        if self.env == "production":
            raise RuntimeError("SIMRENEW_SECRET_KEY must be set in production")
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()
