"""A real rsyslog (Debian's rsyslogd with its GnuTLS driver) as the audit witness, on
loopback, for the tests: RFC 5425 (syslog over TLS) in, one file out.

The certificates are made here with ``cryptography``: a CA, and a server certificate it
signs for 127.0.0.1 and localhost. The console checks the collector's certificate
against that CA (the site policy's ``witness_ca_file``), as it would a force's own.
"""

from __future__ import annotations

import datetime
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key), PEM files in *folder*."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("LFR test witness CA"))
        .issuer_name(_name("LFR test witness CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(paths[2], 0o600)
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Witness:
    """A running rsyslogd: its address, CA file and the file it writes heads to."""

    folder: Path
    port: int
    ca_file: Path
    log: Path
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(self.folder / "rsyslog.conf"),
             "-i", str(self.folder / "rsyslog.pid")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode(errors="replace")
                raise RuntimeError(f"rsyslogd exited: {output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("rsyslogd did not listen within 20 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        self.process = None

    def wait_for(self, predicate, timeout: float = 20.0) -> str:  # noqa: ANN001
        """The log's text once *predicate(text)* holds (rsyslog writes asynchronously)."""
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace") if self.log.exists() else ""
            if predicate(text):
                return text
            time.sleep(0.1)
        raise AssertionError(f"the witness log never got there; it holds:\n{text[-2000:]}")


def make_witness(folder: Path, port: int | None = None) -> Witness:
    """Configure (not start) an rsyslogd that takes RFC 5425 on loopback and writes every
    message, as received, to one file."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, cert, key = make_certificates(folder)
    port = port or free_port()
    log = folder / "witness.log"
    work = folder / "work"
    work.mkdir(exist_ok=True)
    (folder / "rsyslog.conf").write_text(
        f"""
global(
  workDirectory="{work}"
  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="{ca}"
  defaultNetstreamDriverCertFile="{cert}"
  defaultNetstreamDriverKeyFile="{key}"
)
module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1"
       streamDriver.authMode="anon")
input(type="imtcp" address="127.0.0.1" port="{port}")
template(name="asReceived" type="string" string="%rawmsg%\\n")
action(type="omfile" file="{log}" template="asReceived" flushOnTXEnd="on"
       asyncWriting="off")
"""
    )
    return Witness(folder, port, ca, log)
