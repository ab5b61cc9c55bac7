"""The configured payment gateways, by the code the catalog's payment methods name."""

from __future__ import annotations

from simrenew.payments.gateways.base import Gateway
from simrenew.payments.gateways.fake import SandboxGateway
from simrenew.payments.gateways.knet import KnetGateway
from simrenew.payments.gateways.tap import TapGateway
from simrenew.settings import Settings

GATEWAY_CODES = ("knet", "tap", "sandbox")


def build_gateways(settings: Settings) -> dict[str, Gateway]:
    """Every gateway with its URL and credentials from settings.

    In development and tests each one points at the sandbox gateway process, with generated
    credentials; in production only gateways given a URL are built, and their credentials must
    be set.
    """
    wanted = {
        code
        for code in GATEWAY_CODES
        if settings.env != "production"
        or {"knet": settings.knet_url, "tap": settings.tap_url, "sandbox": ""}[code]
    }
    gateways: dict[str, Gateway] = {}
    if "knet" in wanted:
        gateways["knet"] = KnetGateway(
            base_url=settings.gateway_url("knet"),
            tranportal_id=settings.secret("knet_tranportal_id"),
            password=settings.secret("knet_tranportal_password"),
            resource_key=settings.secret("knet_resource_key"),
        )
    if "tap" in wanted:
        gateways["tap"] = TapGateway(
            base_url=settings.gateway_url("tap"), secret_key=settings.secret("tap_secret_key")
        )
    if "sandbox" in wanted:
        gateways["sandbox"] = SandboxGateway(
            base_url=settings.gateway_url("sandbox"),
            secret=settings.secret("sandbox_gateway_secret"),
        )
    return gateways
