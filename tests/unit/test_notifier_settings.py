"""The notifiers' settings are checked when a command starts: a value that cannot work stops it with an error naming
the variable, rather than parking (or looping on) every effect at its first delivery, or sending a password in the
clear because ``MOTCUA_SMTP_STARTTLS=yes`` was read as false."""

from __future__ import annotations

import pytest

from motcua.adapters.bootstrap import notifier_from_settings, portal_settings
from motcua.adapters.notifiers import ReceiverPause, SmtpNotifier
from motcua.workflow.errors import InvalidInput

SMTP = {"MOTCUA_SMTP_HOST": "smtp.tanlap.gov.vn"}
WEBHOOK = {"MOTCUA_WEBHOOK_SECRET": "khoa-bi-mat-cua-xa"}
PORTAL = {"MOTCUA_DVCQG_URL": "https://lgsp.example.vn/dvcqg", "MOTCUA_DVCQG_TOKEN": "tok-123"}
PASSWORD = "mat-khau-bi-mat"
LOGIN = {"MOTCUA_SMTP_USER": "motcua", "MOTCUA_SMTP_PASSWORD": PASSWORD}


@pytest.mark.parametrize(("settings", "variable"), [
    ({**SMTP, "MOTCUA_SMTP_PORT": "hai mươi lăm"}, "MOTCUA_SMTP_PORT"),
    ({**SMTP, "MOTCUA_SMTP_PORT": "0"}, "MOTCUA_SMTP_PORT"),
    ({**SMTP, "MOTCUA_SMTP_PORT": "65536"}, "MOTCUA_SMTP_PORT"),
    ({**SMTP, "MOTCUA_SMTP_STARTTLS": "yes"}, "MOTCUA_SMTP_STARTTLS"),
    ({**SMTP, "MOTCUA_SMTP_STARTTLS": "1"}, "MOTCUA_SMTP_STARTTLS"),
    ({**SMTP, "MOTCUA_SMTP_PASSWORD": PASSWORD}, "MOTCUA_SMTP_USER"),
    ({**SMTP, "MOTCUA_SMTP_USER": "motcua", "MOTCUA_SMTP_PASSWORD": "mật-khẩu"}, "MOTCUA_SMTP_PASSWORD"),
    ({**SMTP, "MOTCUA_SMTP_USER": "bộ-phận-một-cửa", "MOTCUA_SMTP_PASSWORD": PASSWORD}, "MOTCUA_SMTP_USER"),
    ({**SMTP, "MOTCUA_SMTP_FROM": "Bộ phận Một cửa"}, "MOTCUA_SMTP_FROM"),
    ({**SMTP, "MOTCUA_SMTP_FROM": "motcua@tanlap.gov.vn\r\nBcc: x@y.vn"}, "MOTCUA_SMTP_FROM"),
    ({**SMTP, "MOTCUA_NOTIFY_LEADER": "tuan@tanlap.gov.vn, khong-co-ten-mien"}, "MOTCUA_NOTIFY_LEADER"),
    ({**SMTP, "MOTCUA_NOTIFY_OFFICER": "lan@tanlap.gov.vn; hung@tanlap.gov.vn"}, "MOTCUA_NOTIFY_OFFICER"),
    ({**SMTP, "MOTCUA_SMTP_FROM": "A" * 3000 + " <motcua@tanlap.gov.vn>"}, "MOTCUA_SMTP_FROM"),  # no line holds it
    ({**SMTP, "MOTCUA_NOTIFY_CHAIRMAN": "Bộ " * 1000 + "<chutich@tanlap.gov.vn>"}, "MOTCUA_NOTIFY_CHAIRMAN"),
    ({**WEBHOOK, "MOTCUA_WEBHOOK_URL": "ftp://one-stop.example.vn/hook"}, "MOTCUA_WEBHOOK_URL"),
    ({**WEBHOOK, "MOTCUA_WEBHOOK_URL": "one-stop.example.vn/hook"}, "MOTCUA_WEBHOOK_URL"),
    ({**WEBHOOK, "MOTCUA_WEBHOOK_URL": "https://"}, "MOTCUA_WEBHOOK_URL"),
    ({**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://:8080/hook"}, "MOTCUA_WEBHOOK_URL"),
    ({**PORTAL, "MOTCUA_DVCQG_URL": "lgsp.example.vn"}, "MOTCUA_DVCQG_URL"),
    ({**PORTAL, "MOTCUA_DVCQG_TIMEOUT": "nan"}, "MOTCUA_DVCQG_TIMEOUT"),
    ({**PORTAL, "MOTCUA_DVCQG_TIMEOUT": "-1"}, "MOTCUA_DVCQG_TIMEOUT"),
    ({**PORTAL, "MOTCUA_DVCQG_TIMEOUT": "inf"}, "MOTCUA_DVCQG_TIMEOUT"),
    ({**PORTAL, "MOTCUA_DVCQG_TOKEN": "tok-123\r\nX-Injected: 1"}, "MOTCUA_DVCQG_TOKEN"),
    ({**PORTAL, "MOTCUA_DVCQG_TOKEN": "mã-bí-mật"}, "MOTCUA_DVCQG_TOKEN"),
])
def test_a_setting_that_cannot_work_stops_the_command_naming_it(settings: dict[str, str], variable: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        notifier_from_settings(settings)

    assert refused.value.field == variable
    assert PASSWORD not in str(refused.value) and "tok-123" not in str(refused.value)
    assert "tanlap.gov.vn" not in str(refused.value)  # an address names a person: its place is named instead


@pytest.mark.parametrize("settings", [
    {**SMTP, "MOTCUA_SMTP_PORT": "587", "MOTCUA_SMTP_STARTTLS": "TRUE", "MOTCUA_SMTP_USER": "motcua",
     "MOTCUA_SMTP_PASSWORD": PASSWORD, "MOTCUA_SMTP_FROM": "Bộ phận Một cửa <motcua@tanlap.gov.vn>",
     "MOTCUA_NOTIFY_OFFICER": "lan@tanlap.gov.vn, Phạm Văn Hùng <hung@tanlap.gov.vn>"},
    {**SMTP, **LOGIN},  # STARTTLS is the default to another machine
    {**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://127.0.0.1:8080/motcua-events"},
    {**PORTAL, "MOTCUA_DVCQG_TIMEOUT": "2.5"},
])
def test_settings_that_work_are_accepted(settings: dict[str, str]) -> None:
    notifier_from_settings(settings)



@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_setting_is_its_default(blank: str) -> None:
    """A variable set to nothing (``MOTCUA_SMTP_STARTTLS=`` in an env file or a compose service) is unset, as every
    other motcua setting reads it: STARTTLS to another machine (none to this one), port 25, the default sender, the
    portal's 10 s."""
    for host, starttls in (("smtp.tanlap.gov.vn", True), ("127.0.0.1", False), ("localhost", False)):
        notifier = notifier_from_settings({"MOTCUA_SMTP_HOST": host, "MOTCUA_SMTP_STARTTLS": blank,
                                           "MOTCUA_SMTP_PORT": blank, "MOTCUA_SMTP_FROM": blank})
        smtp = next(channel.notifier for channel in getattr(notifier, "notifiers", ())
                    if isinstance(channel, ReceiverPause))  # the e-mail channel pauses when its server fails
        assert isinstance(smtp, SmtpNotifier)
        assert (smtp.starttls, smtp.port) == (starttls, 25), host
    settings = portal_settings({**PORTAL, "MOTCUA_DVCQG_TIMEOUT": blank})
    assert settings is not None and settings.timeout == 10


def test_the_portal_token_is_not_in_the_settings_repr() -> None:
    settings = portal_settings(PORTAL)

    assert settings is not None and settings.token == "tok-123"
    assert "tok-123" not in repr(settings)


@pytest.mark.parametrize(("settings", "variable"), [
    ({**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://one-stop.example.vn/motcua-events"}, "MOTCUA_WEBHOOK_URL"),
    ({**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://10.0.0.7:8080/motcua-events"}, "MOTCUA_WEBHOOK_URL"),
    ({**SMTP, "MOTCUA_SMTP_STARTTLS": "false"}, "MOTCUA_SMTP_STARTTLS"),  # the notices name people
    ({**SMTP, **LOGIN, "MOTCUA_SMTP_STARTTLS": "false"}, "MOTCUA_SMTP_STARTTLS"),
    ({"MOTCUA_WEBHOOK_URL": "https://one-stop.example.vn/hook", "MOTCUA_WEBHOOK_SECRET": "x"}, "MOTCUA_WEBHOOK_SECRET"),
    ({"MOTCUA_WEBHOOK_URL": "https://one-stop.example.vn/hook", "MOTCUA_WEBHOOK_SECRET": "a" * 15},
     "MOTCUA_WEBHOOK_SECRET"),
    ({**WEBHOOK, "MOTCUA_WEBHOOK_URL": "https://one-stop.example.vn/hook", "MOTCUA_INSECURE_LAB": "yes"},
     "MOTCUA_INSECURE_LAB"),
    ({**PORTAL, "MOTCUA_DVCQG_URL": "http://lgsp.example.vn/dvcqg"}, "MOTCUA_DVCQG_URL"),  # the token, in the clear
], ids=["http-webhook", "http-webhook-address", "smtp-without-tls", "login-tls-false", "one-character-secret",
        "short-secret", "lab-not-a-boolean", "http-portal"])
def test_a_weak_setting_stops_the_command_naming_it(settings: dict[str, str], variable: str) -> None:
    """What would send a password, a signed notice's personal data or a guessable key in the clear over a network."""
    with pytest.raises(InvalidInput) as refused:
        notifier_from_settings(settings)

    assert refused.value.field == variable
    assert PASSWORD not in str(refused.value) and "example.vn" not in str(refused.value)


@pytest.mark.parametrize("settings", [
    {**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://localhost:8080/motcua-events"},  # never leaves the machine
    {**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://[::1]:8080/motcua-events"},
    {**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://[::ffff:127.0.0.1]:8080/motcua-events"},  # 127.0.0.1, in IPv6
    {**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://localhost.:8080/motcua-events"},  # the name, fully qualified
    {"MOTCUA_SMTP_HOST": "127.0.0.1", **LOGIN},  # a relay on this machine
    {**WEBHOOK, "MOTCUA_WEBHOOK_URL": "http://one-stop.lab/hook", "MOTCUA_INSECURE_LAB": "true"},
    {**SMTP, **LOGIN, "MOTCUA_SMTP_STARTTLS": "false", "MOTCUA_INSECURE_LAB": "TRUE"},
    {"MOTCUA_SMTP_HOST": "localhost", "MOTCUA_SMTP_STARTTLS": "false"},
    {"MOTCUA_WEBHOOK_URL": "https://one-stop.example.vn/hook", "MOTCUA_WEBHOOK_SECRET": "x",
     "MOTCUA_INSECURE_LAB": "true"},
    {**PORTAL, "MOTCUA_DVCQG_URL": "http://127.0.0.1:8080/dvcqg"},  # a gateway on this machine
    {**PORTAL, "MOTCUA_DVCQG_URL": "http://lgsp.lab/dvcqg", "MOTCUA_INSECURE_LAB": "true"},
], ids=["localhost", "ipv6-loopback", "ipv4-mapped-loopback", "localhost-dot",
        "smtp-loopback", "lab-http", "lab-login", "smtp-loopback-plain", "lab-secret", "portal-loopback",
        "lab-portal"])
def test_a_weak_setting_is_taken_on_this_machine_or_in_a_lab(settings: dict[str, str]) -> None:
    notifier_from_settings(settings)

