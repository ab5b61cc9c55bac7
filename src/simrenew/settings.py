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
    # Batches a sweep works on at once on PostgreSQL, one connection each (SQLite: always 1).
    sweep_connections: int = Field(default=4, gt=0, le=16)
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
    # Payment gateways. An empty URL means the sandbox gateway (`simrenew sandbox-gateway`) on
    # SIMRENEW_SANDBOX_PORT; empty credentials are generated into the data directory (not in
    # production, where they must be set).
    sandbox_port: int = 8001
    knet_url: str = ""  # e.g. https://kpay.com.kw/kpg (PaymentHTTP.htm and tranPipe.htm below it)
    knet_tranportal_id: str = ""
    knet_tranportal_password: str = ""
    knet_resource_key: str = ""  # the terminal resource key: 16 characters, AES-128
    tap_url: str = ""  # e.g. https://api.tap.company
    tap_secret_key: str = ""
    sandbox_gateway_url: str = ""
    sandbox_gateway_secret: str = ""
    payment_timeout_seconds: int = Field(default=900, gt=0)  # a pending payment's deadline
    reconcile_interval_seconds: float = Field(default=120.0, gt=0)

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'simrenew.db').resolve()}"

    def resolved_secret_key(self) -> str:
        """The signing secret: configured, or generated once into the data directory (dev only)."""
        return self.secret("secret_key")

    def secret(self, name: str) -> str:
        """A secret setting (`secret_key`, `knet_resource_key`, ...): configured, or in development
        generated once into the data directory, so the app and the sandbox gateway share it."""
        configured = getattr(self, name)
        if not isinstance(configured, str):
            raise TypeError(f"{name} is not a text setting")
        if configured:
            return configured
        if self.env == "production":
            raise RuntimeError(f"SIMRENEW_{name.upper()} must be set in production")
        path = self.data_dir / name
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            # KNET's resource key is an AES-128 key: exactly 16 characters.
            value = (
                secrets.token_hex(8) if name == "knet_resource_key" else secrets.token_urlsafe(24)
            )
            path.write_text(value)
            path.chmod(0o600)
        return path.read_text().strip()

    def gateway_url(self, gateway: str) -> str:
        """The base URL of a payment gateway (`knet`, `tap`, `sandbox`): configured, or the
        sandbox gateway's page for it."""
        configured = {
            "knet": self.knet_url,
            "tap": self.tap_url,
            "sandbox": self.sandbox_gateway_url,
        }
        return (configured[gateway] or f"http://127.0.0.1:{self.sandbox_port}/{gateway}").rstrip(
            "/"
        )
