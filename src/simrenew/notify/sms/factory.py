"""Build the SMS transport the settings name (SIMRENEW_SMS_TRANSPORT)."""

from __future__ import annotations

from simrenew.errors import ValidationFailed
from simrenew.notify.sms.base import SmsTransport
from simrenew.notify.sms.kannel import KannelTransport, dlr_token
from simrenew.notify.sms.log import LogTransport
from simrenew.notify.sms.smpp import SmppTransport
from simrenew.settings import Settings


def build_transport(settings: Settings) -> SmsTransport:
    """`log`, `kannel` or `smpp`, configured from settings; refuses what cannot work."""
    if settings.sms_transport == "log":
        return LogTransport()
    if settings.sms_transport == "kannel":
        if not settings.kannel_password:
            raise ValidationFailed(
                "SIMRENEW_SMS_TRANSPORT=kannel needs SIMRENEW_KANNEL_PASSWORD (the password of "
                "the smsbox sendsms-user SIMRENEW_KANNEL_USERNAME)."
            )
        return KannelTransport(
            sendsms_url=settings.kannel_sendsms_url,
            username=settings.kannel_username,
            password=settings.kannel_password,
            sender=settings.sms_sender,
            public_url=settings.public_url,
            dlr_token=dlr_token(settings.resolved_secret_key()),
        )
    if not settings.smpp_password:
        raise ValidationFailed(
            "SIMRENEW_SMS_TRANSPORT=smpp needs SIMRENEW_SMPP_PASSWORD (with SIMRENEW_SMPP_HOST, "
            "_PORT and _SYSTEM_ID: the SMSC account simrenew binds as)."
        )
    return SmppTransport(
        host=settings.smpp_host,
        port=settings.smpp_port,
        system_id=settings.smpp_system_id,
        password=settings.smpp_password,
        sender=settings.sms_sender,
    )
