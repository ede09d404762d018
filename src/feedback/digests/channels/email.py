"""E-mail over SMTP: multipart (text and HTML), charts inline as PNG parts referenced by Content-ID.

Settings (FEEDBACK_SMTP_*): host, port, security (``starttls``: plain connection upgraded with STARTTLS;
``ssl``: TLS from the first byte, usually port 465; ``none``: only for a relay on the same machine), username
and password (AUTH when a username is set), timeout (FEEDBACK_SMTP_TIMEOUT_S, per network operation). A
Mailer keeps one connection for a batch of messages; when the server cannot be reached, every later message
of the batch fails at once with the same error instead of waiting for another timeout.
"""

from __future__ import annotations

import io
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from types import TracebackType

from feedback.config import Settings
from feedback.digests.channels import DeliveryError


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str | None = None
    images: Sequence[tuple[str, bytes]] = ()  # (Content-ID without <>, PNG bytes), referenced as cid:...
    message_id: str | None = None  # stable per delivery: a resent message is recognisably the same
    date: datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)


def build_message(sender: str, email: Email) -> EmailMessage:
    """multipart/alternative: text/plain, then multipart/related (text/html + image/png parts)."""
    message = EmailMessage()
    message["From"] = sender if "<" in sender else formataddr(("feedback", sender))
    message["To"] = email.to
    message["Subject"] = email.subject
    if email.message_id:
        message["Message-ID"] = email.message_id
    if email.date:
        message["Date"] = format_datetime(email.date)
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text)
    if email.html is not None:
        message.add_alternative(email.html, subtype="html")
        html_part = message.get_payload()[1]  # type: ignore[index]
        assert isinstance(html_part, EmailMessage)
        for cid, png in email.images:
            html_part.add_related(png, maintype="image", subtype="png", cid=f"<{cid}>", filename=f"{cid}.png")
    return message


def _classify(error: Exception) -> DeliveryError:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        permanent = all(code >= 500 for code in codes)
        return DeliveryError(f"recipient refused: {error.recipients}", permanent=permanent)
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return DeliveryError(f"SMTP authentication failed ({error.smtp_code})", permanent=True)
    if isinstance(error, smtplib.SMTPResponseException):
        message = (
            error.smtp_error.decode(errors="replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        return DeliveryError(f"SMTP {error.smtp_code}: {message}", permanent=error.smtp_code >= 500)
    return DeliveryError(f"SMTP server unreachable: {type(error).__name__}: {error}")


def _after_data(error: Exception) -> DeliveryError:
    """The server may have taken the message: say so, and let the outbox back off before the next try."""
    silent = isinstance(error, TimeoutError) or "timed out" in str(error)  # smtplib wraps a timeout
    what = "did not answer" if silent else "disconnected"
    return DeliveryError(
        f"the SMTP server {what} after DATA ({type(error).__name__}: {error}); the message may have "
        "arrived: the next try carries the same Message-ID"
    )


def _flatten(message: EmailMessage, international: bool) -> bytes:
    buffer = io.BytesIO()
    policy = message.policy.clone(utf8=True) if international else message.policy  # type: ignore[call-arg]
    BytesGenerator(buffer, policy=policy).flatten(message, linesep="\r\n")
    return buffer.getvalue()


class Mailer:
    """One SMTP connection for a batch of messages (``with Mailer(settings) as mailer: mailer.send(...)``).

    One call of :meth:`send` is at most one transfer: a kept connection is checked (NOOP) before it is used,
    and a message is never sent a second time within a call. A connection lost after DATA is reported as
    such (the server may have the message); the outbox counts it as a try and backs off.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._unreachable: DeliveryError | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if not s.smtp_host:
            raise DeliveryError("FEEDBACK_SMTP_HOST is not set: e-mail cannot be sent", permanent=True)
        if s.smtp_security not in ("starttls", "ssl", "none"):
            raise DeliveryError(
                f"FEEDBACK_SMTP_SECURITY={s.smtp_security!r}: use starttls, ssl or none", permanent=True
            )
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
        if s.smtp_username:
            smtp.login(s.smtp_username, s.smtp_password)
        smtp.ehlo_or_helo_if_needed()
        return smtp

    def _connection(self) -> smtplib.SMTP:
        """A working connection: the kept one if it still answers NOOP, else a new one."""
        if self._unreachable is not None:
            raise self._unreachable
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self._drop()
        try:
            self._smtp = self._connect()
        except DeliveryError:
            raise
        except (smtplib.SMTPException, OSError) as error:
            self._unreachable = _classify(error)
            raise self._unreachable from error
        return self._smtp

    def send(self, email: Email) -> None:
        """Send one message, in at most one transfer; DeliveryError when it was not accepted."""
        message = build_message(self.settings.smtp_from, email)
        sender = _address(self.settings.smtp_from)
        international = not (sender + email.to).isascii()
        smtp = self._connection()
        options: list[str] = []
        if international:
            if not smtp.has_extn("smtputf8"):
                raise DeliveryError("the SMTP server does not take non-ASCII addresses", permanent=True)
            options = ["SMTPUTF8", "BODY=8BITMIME"]
        payload = _flatten(message, international)
        in_data = False
        try:
            code, reply = smtp.mail(sender, options)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            code, reply = smtp.rcpt(email.to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({email.to: (code, reply)})
            in_data = True
            smtp.data(payload)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            self._drop()
            raise (_after_data(error) if in_data else _classify(error)) from error
        except smtplib.SMTPException as error:
            try:
                smtp.rset()
            except (smtplib.SMTPException, OSError):
                self._drop()
            raise _classify(error) from error


def _address(sender: str) -> str:
    return sender.rsplit("<", 1)[1].rstrip(">").strip() if "<" in sender else sender
