"""Sending one mail over SMTP with aiosmtplib (host, port, TLS and login from settings)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from eproc_notify.settings import NotifySettings


class PermanentFailure(Exception):
    """The server refused the mail for good (a 5xx answer): retrying would not help."""


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str
    html: str | None
    language: str
    reference: str


class Mailer:
    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    def build(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Message-ID"] = make_msgid(domain="notify.eproc")
        message["X-Eproc-Reference"] = mail.reference
        message.set_content(mail.text)
        if mail.html:
            message.add_alternative(mail.html, subtype="html")
        # After the content: set_content drops every Content-* header set before it.
        message["Content-Language"] = mail.language
        return message

    async def send(self, mail: Mail) -> None:
        s = self.settings
        try:
            await aiosmtplib.send(
                self.build(mail),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                timeout=s.smtp_timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(error.code >= 500 for error in exc.recipients):
                raise PermanentFailure(str(exc)) from exc
            raise
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code >= 500 and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
                raise PermanentFailure(f"{exc.code} {exc.message}") from exc
            raise
