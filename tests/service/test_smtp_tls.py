"""SMTP transport security (``AUTHSPEC_SMTP_TLS``): STARTTLS and implicit TLS against aiosmtpd servers
with certificates made here, certificate verification (an untrusted server is a mail failure, not a
hang), plain SMTP, the ``AUTHSPEC_SMTP_STARTTLS`` alias, and the settings' one-line refusals."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from authspec.handlers.app import create_app
from starlette.testclient import TestClient

from authspec.cli import main
from authspec.mail import build_mailer
from authspec.mail.smtp import MailError, SmtpMailer
from authspec.services.messages import compose_code_message
from authspec.settings import Settings
from tests.helpers import assert_error, free_port
from tests.service.certs import Pki, make_pki
from tests.service.support import START, data

EMAIL = "ada@example.com"


class TlsInbox:
    """Keeps each message received and whether it arrived over TLS."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.over_tls: list[bool] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.content))
        self.over_tls.append(server.transport.get_extra_info("ssl_object") is not None)
        return "250 OK"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path, "trusted")


@pytest.fixture
def stranger(tmp_path: Path) -> Pki:
    """A PKI nobody was told to trust."""
    return make_pki(tmp_path, "stranger")


@contextmanager
def smtp_server(mode: str, pki: Pki | None = None) -> Iterator[tuple[TlsInbox, int]]:
    """An aiosmtpd server on a free port: ``starttls`` (offered and required), ``implicit``, or ``plain``."""
    inbox, port = TlsInbox(), free_port()
    options: dict[str, Any] = {}
    if mode == "starttls":
        assert pki is not None
        options = {"tls_context": pki.server_context(), "require_starttls": True}
    elif mode == "implicit":
        assert pki is not None
        options = {"ssl_context": pki.server_context()}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def send(mailer: SmtpMailer) -> None:
    asyncio.run(mailer.send(compose_code_message(EMAIL, "654321", expires_in=300, sent_at=START)))


def mailer_for(port: int, **settings: Any) -> SmtpMailer:
    mailer = build_mailer(Settings(mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, **settings))
    assert isinstance(mailer, SmtpMailer)
    mailer.timeout = 5.0
    return mailer


# -- delivery ----------------------------------------------------------------------------------------------


def test_starttls_delivers_over_tls_to_a_server_the_ca_file_vouches_for(pki: Pki) -> None:
    with smtp_server("starttls", pki) as (inbox, port):
        send(mailer_for(port, smtp_tls="starttls", smtp_ca_file=pki.ca_file))
    assert [m["To"] for m in inbox.messages] == [EMAIL]
    assert inbox.over_tls == [True]


def test_implicit_tls_delivers_over_tls_to_a_server_the_ca_file_vouches_for(pki: Pki) -> None:
    with smtp_server("implicit", pki) as (inbox, port):
        send(mailer_for(port, smtp_tls="implicit", smtp_ca_file=pki.ca_file))
    assert [m["To"] for m in inbox.messages] == [EMAIL]
    assert inbox.over_tls == [True]


def test_none_delivers_in_clear() -> None:
    with smtp_server("plain") as (inbox, port):
        send(mailer_for(port, smtp_tls="none"))
    assert inbox.over_tls == [False]


def test_the_starttls_alias_still_upgrades_the_connection(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSPEC_SMTP_STARTTLS", "true")
    with smtp_server("starttls", pki) as (inbox, port):
        send(mailer_for(port, smtp_ca_file=pki.ca_file))
    assert inbox.over_tls == [True]


# -- refusals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_a_server_with_an_untrusted_certificate_is_a_mail_failure(mode: str, pki: Pki, stranger: Pki) -> None:
    with smtp_server(mode, stranger) as (inbox, port):
        mailer = mailer_for(port, smtp_tls=mode, smtp_ca_file=pki.ca_file)
        with pytest.raises(MailError) as failure:
            send(mailer)
    assert isinstance(failure.value.__cause__, ssl.SSLCertVerificationError)
    assert inbox.messages == []


def test_an_untrusted_server_answers_request_code_with_503(
    stranger: Pki, pki: Pki, make_settings: Callable[..., Settings]
) -> None:
    with smtp_server("implicit", stranger) as (inbox, port):
        settings = make_settings(
            mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_tls="implicit", smtp_ca_file=pki.ca_file
        )
        with TestClient(create_app(settings)) as client:
            response = client.post("/api/v1/auth/email/request-code", json={"email": EMAIL})
    assert_error(response, 503, "service_unavailable")
    assert inbox.messages == []


def test_starttls_is_never_skipped_when_the_server_does_not_offer_it() -> None:
    with smtp_server("plain") as (inbox, port):
        with pytest.raises(MailError):
            send(mailer_for(port, smtp_tls="starttls"))
    assert inbox.messages == []


def test_request_code_over_implicit_tls(pki: Pki, make_settings: Callable[..., Settings]) -> None:
    with smtp_server("implicit", pki) as (inbox, port):
        settings = make_settings(
            mail_backend="smtp", smtp_host="127.0.0.1", smtp_port=port, smtp_tls="implicit", smtp_ca_file=pki.ca_file
        )
        with TestClient(create_app(settings)) as client:
            data(client.post("/api/v1/auth/email/request-code", json={"email": EMAIL}))
    assert inbox.over_tls == [True]


# -- settings -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("starttls", "mode"), [("true", "starttls"), ("false", "none"), ("1", "starttls")])
def test_the_old_boolean_names_a_mode(starttls: str, mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSPEC_SMTP_STARTTLS", starttls)
    assert Settings().smtp_tls == mode


def test_the_old_boolean_may_repeat_the_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTHSPEC_SMTP_STARTTLS", "false")
    monkeypatch.setenv("AUTHSPEC_SMTP_TLS", "none")
    assert Settings().smtp_tls == "none"


def test_implicit_tls_defaults_to_port_465_unless_a_port_is_given() -> None:
    assert Settings(smtp_tls="implicit").smtp_port == 465
    assert Settings(smtp_tls="implicit", smtp_port=2465).smtp_port == 2465
    assert Settings(smtp_tls="starttls").smtp_port == 25


def prod_settings(folder: Path) -> dict[str, Any]:
    """What a production start needs besides SMTP (the other prod rules are not what these tests are about)."""
    return {
        "env": "prod",
        "mail_backend": "smtp",
        "database_url": f"sqlite:///{folder / 'authspec.db'}",
        "jwt_private_key_file": folder / "keys.pem",
        "secret_file": folder / "secret",
    }


def refusal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **env: str) -> str:
    """What ``authspec migrate`` says, exiting 2, with these settings: one line."""
    for name, value in env.items():
        monkeypatch.setenv(f"AUTHSPEC_{name}", value)
    assert main(["migrate"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_the_alias_and_the_mode_disagreeing_is_one_line_naming_both(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refusal(monkeypatch, capsys, SMTP_TLS="implicit", SMTP_STARTTLS="true")
    assert line.startswith("authspec migrate: AUTHSPEC_SMTP_TLS=implicit and AUTHSPEC_SMTP_STARTTLS=true disagree")


def test_prod_refuses_smtp_login_without_tls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    line = refusal(
        monkeypatch,
        capsys,
        **{name.upper(): str(value) for name, value in prod_settings(tmp_path).items()},
        SMTP_USERNAME="mailer",
        SMTP_TLS="none",
    )
    assert line.startswith("authspec migrate: AUTHSPEC_SMTP_TLS=none with AUTHSPEC_SMTP_USERNAME is refused")


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_prod_accepts_smtp_login_over_tls(mode: str, tmp_path: Path) -> None:
    settings = Settings(**prod_settings(tmp_path), smtp_username="mailer", smtp_tls=mode)
    assert settings.smtp_tls == mode


def test_an_unusable_ca_file_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "not-a-ca.pem").write_text("hello")
    line = refusal(monkeypatch, capsys, SMTP_CA_FILE=str(tmp_path / "not-a-ca.pem"))
    assert line.startswith("authspec migrate: AUTHSPEC_SMTP_CA_FILE: ")
    line = refusal(monkeypatch, capsys, SMTP_CA_FILE=str(tmp_path / "missing.pem"))
    assert "missing.pem is not a readable PEM file" in line
