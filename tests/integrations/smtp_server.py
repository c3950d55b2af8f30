"""A real SMTP server for the tests: aiosmtpd on loopback with STARTTLS (a self-signed
certificate made by openssl) and a login, recording every message it accepts."""

from __future__ import annotations

import email
import email.policy
import os
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

USER, PASSWORD = "callbox", "smtp-password-1"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("openssl is missing (apt install openssl)")
        pytest.skip("no openssl")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


class SmtpServer:
    def __init__(self, cert: Path, key: Path, port: int):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.cert = cert
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list = []
        self.refuse_login = False
        server = self

        class Handler:
            async def handle_DATA(self, smtp, session, envelope):
                server.envelopes.append(envelope)
                server.messages.append(email.message_from_bytes(
                    envelope.content, policy=email.policy.default))
                return "250 OK"

        def authenticator(smtp, session, envelope, mechanism, auth_data):
            ok = not server.refuse_login and auth_data.login == USER.encode() \
                and auth_data.password == PASSWORD.encode()
            return AuthResult(success=ok, handled=False)

        self.port = port
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port,
                                     tls_context=context, require_starttls=True,
                                     authenticator=authenticator, auth_require_tls=True)
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


def email_block(port: int, cert: Path, password: str = PASSWORD) -> str:
    return (f'\n[email]\nsmtp = "127.0.0.1:{port}"\nusername = "{USER}"\n'
            f'password = "{password}"\nfrom = "callbox@hotel.example"\n'
            f'weekly_to = ["owner@hotel.example", "manager@hotel.example"]\n'
            f'ca_file = "{cert}"\n')
