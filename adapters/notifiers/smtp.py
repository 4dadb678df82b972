"""Deliver notify effects as e-mail, in Vietnamese, to the addresses configured for each role.

A ``notify`` effect (due soon, overdue, escalated) becomes one UTF-8 message to every address of
the role it names, for instance ``[motcua] Hồ sơ 000.00.06.H56-231027-0361 sắp đến hạn trả kết
quả``. A ``form`` effect is e-mailed only when ``form_role`` names who receives forms; other kinds,
and roles without an address, are logged and skipped. Failures are translated here: a connection
refused or timed out and 4xx replies may pass when retried; 5xx replies, malformed addresses and
a server lacking a configured feature (STARTTLS, AUTH) will not.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import format_datetime, formataddr
from typing import Final

import structlog

from motcua.adapters.notifiers.identity import EFFECT_ID_HEADER, effect_key, message_key
from motcua.workflow.engine.clock import VN_TZ
from motcua.workflow.engine.model import JsonValue, OutboxItem
from motcua.workflow.errors import DeliveryFailed, InvalidInput, delivery_failure

__all__ = ["SERVER_PAUSE", "Letter", "SmtpNotifier", "checked_addresses", "compose"]

_ROLES = {
    "officer": "Công chức Bộ phận Một cửa",
    "leader": "Lãnh đạo phụ trách",
    "chairman": "Chủ tịch Ủy ban nhân dân",
    "owner": "Người chủ trì nhiệm vụ",
    "specialist": "Công chức chuyên môn xử lý hồ sơ",
}
_DOSSIER_EVENTS = {
    "due_soon": "sắp đến hạn trả kết quả",
    "overdue": "đã quá hạn trả kết quả",
    "escalation": "đã quá hạn trả kết quả, báo cáo cấp trên",
    "step_due_soon": "sắp hết thời hạn của bước xử lý theo quy trình nội bộ",
    "step_overdue": "đã hết thời hạn của bước xử lý theo quy trình nội bộ",
}
_TASK_EVENTS = {
    "due_soon": "sắp đến hạn hoàn thành",
    "overdue": "đã quá hạn hoàn thành",
    "escalation": "đã quá hạn hoàn thành, báo cáo cấp trên",
}
_FEEDBACK_EVENTS = {
    "due_soon": "sắp đến hạn trả lời",
    "overdue": "đã quá hạn trả lời",
    "escalation": "đã quá hạn trả lời, báo cáo cấp trên",
    "classification_late": "đã quá hạn phân loại, chuyển xử lý",
    "feedback_published": "đã được công khai kết quả trả lời",
}
# a warning outrun by its deadline (its payload's "outrun") is worded as what it now is
_OUTRUN = {"due_soon": "overdue", "step_due_soon": "step_overdue"}
_OUTRUN_LINE = "Thông báo sắp đến hạn không gửi được trước thời hạn (hệ thống tạm dừng); thời hạn đã qua."
# what a notify payload names (its key) → the noun of the headline and its events; the first key present wins
_SUBJECTS = (("task", "Nhiệm vụ", _TASK_EVENTS), ("feedback", "Phản ánh, kiến nghị", _FEEDBACK_EVENTS))
_FOOTER = "Thư được gửi tự động từ hệ thống motcua, vui lòng không trả lời thư này."


@dataclass(frozen=True, slots=True)
class Letter:
    """What to write, and to which role."""

    role: str
    subject: str
    body: str


def compose(item: OutboxItem, form_role: str | None = None) -> Letter | None:
    """The letter for an effect, or None when this kind is not e-mailed."""
    if item.kind == "notify":
        return _notice(item)
    if item.kind == "form" and form_role is not None:
        return _form_notice(item, form_role)
    return None


def _notice(item: OutboxItem) -> Letter:
    payload = item.payload
    key, noun, events = "dossier", "Hồ sơ", _DOSSIER_EVENTS
    if "dossier" not in payload:
        key, noun, events = next((found for found in _SUBJECTS if found[0] in payload), (key, noun, events))
    code = _str(payload.get(key)) or item.case_code
    event = _str(payload.get("event"))
    outrun = payload.get("outrun") is True and event in _OUTRUN
    headline = f"{noun} {code} {events.get(_OUTRUN[event] if outrun else event, 'có thông báo mới')}"
    role = _str(payload.get("role"))
    lines = [f"Kính gửi: {_ROLES.get(role, role)},", "", f"{headline}.", "", f"Thời điểm: {_when(payload.get('at'))}"]
    if outrun:
        lines.append(_OUTRUN_LINE)
    if payload.get("step") is not None:
        lines.append(f"Lần báo cáo cấp trên: {payload['step']}")
    if payload.get("process_step") is not None:
        lines.append(f"Bước xử lý: {_str(payload.get('step_label')) or _str(payload['process_step'])}")
        lines.append(f"Hạn của bước: {_when(payload.get('step_due'))}")
    if payload.get("holder"):
        lines.append(f"Người đang xử lý: {payload['holder']}")
    if payload.get("owner"):
        lines.append(f"Người chủ trì: {payload['owner']}")
    lines += ["", "Đề nghị kiểm tra và xử lý trên hệ thống.", "", _FOOTER]
    return Letter(role, f"[motcua] {headline}", "\n".join(lines) + "\n")


def _form_notice(item: OutboxItem, role: str) -> Letter:
    """A paper the desk issued (``đã lập``) or received from the applicant (``đã nhận``), with its form's number, or
    none when the rule set prescribes no form for the act."""
    payload = item.payload
    dossier = _str(payload.get("dossier")) or item.case_code
    name = _str(payload.get("name")) or _str(payload.get("form"))
    number = _str(payload.get("number"))
    verb, who = ("đã nhận", "Người tiếp nhận") if payload.get("received") is True else ("đã lập", "Người lập")
    lines = [
        f"Kính gửi: {_ROLES.get(role, role)},", "",
        f"Hồ sơ {dossier}: {verb} {name} ({f'mẫu số {number}' if number else 'không theo mẫu'}).", "",
        f"{who}: {_str(payload.get('by'))}", f"Thời điểm: {_when(payload.get('at'))}", "", _FOOTER,
    ]
    return Letter(role, f"[motcua] Hồ sơ {dossier}: {verb} {name}", "\n".join(lines) + "\n")


def _str(value: JsonValue | None) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _when(value: JsonValue | None) -> str:
    """An ISO instant as officials read it: ``14:30 ngày 27/10/2023``, Vietnam time."""
    if not isinstance(value, str):
        return "không rõ"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(VN_TZ)
    return f"{moment:%H:%M} ngày {moment:%d/%m/%Y}"


class SmtpNotifier:
    """Sends one e-mail per effect with :mod:`smtplib`: a new connection each time, nothing to close."""

    channel = "email"  # its name in a fan-out

    def __init__(
        self, host: str, port: int, sender: str, recipients: Mapping[str, Sequence[str]], *,
        starttls: bool = False, username: str | None = None, password: str | None = None,
        timeout: float = 10, form_role: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.recipients = {role: tuple(addresses) for role, addresses in recipients.items()}
        self.starttls = starttls
        self.username = username
        self.password = password
        self.timeout = timeout
        self.form_role = form_role
        self.log = structlog.get_logger("motcua.notifiers.smtp")

    def sends(self, item: OutboxItem) -> bool:
        """Whether :meth:`deliver` would send ``item`` at all (a letter, to a role with addresses): what it would
        skip, a pause of the channel does not hold back."""
        letter = compose(item, self.form_role)
        return letter is not None and bool(self.recipients.get(letter.role))

    def deliver(self, item: OutboxItem) -> None:
        letter = compose(item, self.form_role)
        log = self.log.bind(case=item.case_code, effect_id=item.id, kind=item.kind)
        if letter is None:
            log.info("email.skipped", cause="kind not e-mailed")
            return
        addresses = self.recipients.get(letter.role, ())
        if not addresses:
            log.warning("email.skipped", cause="no recipient for role", role=letter.role)
            return
        try:
            sender, recipients = _address(self.sender), [_address(entry) for entry in addresses]
            refused = self._send(sender, recipients, self._message(item, letter, sender, recipients))
        except (smtplib.SMTPException, OSError, _BadAddress) as error:
            raise _failure(item.kind, error) from error
        if refused:  # counted, not named: an address names a person
            log.warning("email.partly_refused", role=letter.role, refused=len(refused))
        log.info("email.sent", role=letter.role, recipients=len(addresses) - len(refused))

    def _message(self, item: OutboxItem, letter: Letter, sender: Address, recipients: Sequence[Address]) -> bytes:
        """The message as sent: CRLF lines, 7-bit (encoded words in headers, quoted-printable body).

        Built with the ``compat32`` API, not ``EmailMessage``: the modern header folder of the
        Pythons we run on drops the space where it folds a long encoded Subject between two words
        ("đã quá" arrives as "đãquá"; CPython gh-144156).
        """
        charset = Charset("utf-8")
        charset.body_encoding = QP
        message: Message[str, str | Header] = Message()
        message.set_payload(unicodedata.normalize("NFC", letter.body), charset)
        message["Subject"] = Header(unicodedata.normalize("NFC", letter.subject), "utf-8")
        message["From"] = _render(sender)
        message["To"] = ", ".join(_render(address) for address in recipients)
        message["Date"] = format_datetime(datetime.now(VN_TZ))
        message["Message-ID"] = f"<{message_key(item)}@{sender.domain}>"  # the same on every attempt
        message[EFFECT_ID_HEADER] = effect_key(item)
        message["Auto-Submitted"] = "auto-generated"
        return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))

    def _send(self, sender: Address, recipients: Sequence[Address], message: bytes) -> dict[str, tuple[int, bytes]]:
        """Returns the recipients the server refused when it accepted others. The whole exchange ends within the
        timeout (:func:`_deadline`), not each read alone: a server dripping its replies (a ``250-`` line every few
        seconds, without end) held the delivery — and ``motcua serve``'s dispatcher — for ever."""
        smtp = smtplib.SMTP(timeout=self.timeout)  # not connected yet: the deadline holds its QUIT too
        with _deadline(smtp, self.timeout) as expired, smtp:
            try:
                code, greeting = smtp.connect(self.host, self.port)
                if code != 220:  # noqa: PLR2004 (RFC 5321 §4.2: 220 ready; 421 busy, 554 no service here)
                    raise smtplib.SMTPConnectError(code, greeting)
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username is not None:
                    smtp.login(self.username, self.password or "")
                return smtp.sendmail(sender.addr_spec, [to.addr_spec for to in recipients], message)
            except (smtplib.SMTPException, OSError) as error:
                if expired.is_set():
                    raise TimeoutError(f"the exchange took longer than {self.timeout}s") from error
                raise


@contextmanager
def _deadline(smtp: smtplib.SMTP, seconds: float) -> Iterator[threading.Event]:
    """Cut ``smtp``'s connection ``seconds`` from now, unless the block ended first: a read waiting on it returns at
    once (the socket shut down), and the event yielded says it was cut."""
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        connection = smtp.sock  # the TLS socket after STARTTLS
        if connection is not None:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield expired
    finally:
        timer.cancel()


SERVER_PAUSE: Final = timedelta(minutes=5)
"""How long the e-mail channel waits after its server failed retryably (Postfix's ``minimal_backoff_time``): every
other e-mail is held back unsent meanwhile, and none of them counts an attempt."""

_LONGEST_NAME = 100  # characters of a display name
_LONGEST_ADDRESS = 254  # characters of an address (RFC 5321's path, less its angle brackets)


class _BadAddress(ValueError):
    def __init__(self, entry: str) -> None:
        super().__init__(f"malformed address {entry!r}")


def _address(entry: str) -> Address:
    """One address, bare (``a@b.vn``) or with a display name (``Lê Minh Tuấn <tuan@b.vn>``); the name at most
    :data:`_LONGEST_NAME` characters, the address :data:`_LONGEST_ADDRESS`."""
    holder = EmailMessage()
    try:
        holder["To"] = entry
        header = holder["To"]
        found = header.addresses
    except (ValueError, IndexError, HeaderParseError) as error:
        raise _BadAddress(entry) from error
    if header.defects or len(found) != 1 or not found[0].addr_spec.isascii() or not found[0].domain:
        raise _BadAddress(entry)
    address: Address = found[0]
    if len(address.display_name) > _LONGEST_NAME or len(address.addr_spec) > _LONGEST_ADDRESS:
        raise _BadAddress(entry)  # a header line holds no more than 998 bytes: the server would refuse every message
    return address


def checked_addresses(setting: str, entries: Sequence[str]) -> tuple[str, ...]:
    """``entries``, each an address :class:`SmtpNotifier` can send from or to; else :class:`InvalidInput` naming
    ``setting`` and the place of the first that is not (not the address itself: it may name a person)."""
    for place, entry in enumerate(entries, 1):
        try:
            _address(entry)
        except _BadAddress:
            raise InvalidInput(setting, f"address {place} is not one e-mail address (name@domain, or "
                                        "Name <name@domain>; several are separated by commas)") from None
    return tuple(entries)


def _render(address: Address) -> str:
    """The address as a header carries it, its display name in NFC (as the subject and body are)."""
    return formataddr((unicodedata.normalize("NFC", address.display_name), address.addr_spec), charset="utf-8")


def _failure(kind: str, error: Exception) -> DeliveryFailed:
    """Translate an smtplib or socket error: 4xx and network trouble are retryable, the rest final. A retryable
    failure of the server itself — it cannot be reached, is silent or hangs up, refuses the connection, the greeting or
    the login with a 4xx, or answers ``421`` (closing) at any step — asks for :data:`SERVER_PAUSE` (SMTP has no
    ``Retry-After``), so that :class:`~motcua.adapters.notifiers.pause.ReceiverPause` holds back the other e-mails
    meanwhile. A 4xx to the sender, the recipients or the message (a content scanner deferring it, greylisting, a
    full mailbox) may be that e-mail's alone: it is retried by itself, and pauses nothing."""
    pause = SERVER_PAUSE if _server_down(error) else None
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = {address: (code, _text(reply)) for address, (code, reply) in error.recipients.items()}
        transient = all(400 <= code < 500 for code, _ in replies.values())  # noqa: PLR2004 (SMTP reply classes)
        return delivery_failure(kind, f"e-mail: every recipient refused: {replies}", transient=transient,
                                retry_after=pause)
    if isinstance(error, smtplib.SMTPResponseException):
        permanent = 500 <= error.smtp_code < 600  # noqa: PLR2004 (SMTP reply classes)
        detail = f"e-mail: {type(error).__name__} {error.smtp_code} {_text(error.smtp_error)}"
        return delivery_failure(kind, detail, transient=not permanent, retry_after=pause)
    permanent = isinstance(error, smtplib.SMTPNotSupportedError | _BadAddress | ssl.SSLCertVerificationError)
    return delivery_failure(kind, f"e-mail: {type(error).__name__}: {error}", transient=not permanent,
                            retry_after=pause)


_CLOSING = 421  # RFC 5321 §3.8: the server is shutting the transmission channel, whatever was asked


def _server_down(error: Exception) -> bool:
    """Whether ``error`` says the server, not this e-mail, is failing (see :func:`_failure`)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return any(code == _CLOSING for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        before_mail = isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPHeloError
                                 | smtplib.SMTPAuthenticationError)
        return error.smtp_code == _CLOSING or (before_mail and 400 <= error.smtp_code < 500)  # noqa: PLR2004
    return isinstance(error, OSError | smtplib.SMTPServerDisconnected)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
