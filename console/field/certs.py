"""The field service's TLS certificate: the force's, or one made per install.

The site policy may name the force's certificate and key (PEM files). Without them the
console makes a self-signed certificate once per data directory (key 0600 in a 0700
folder, ECDSA P-256, made with ``cryptography``) naming the address it listens on, and
shows its fingerprint so that a phone can pin it: the SHA-256 of the certificate (what a
person compares) and of its public key (what Chromium's
``--ignore-certificate-errors-spki-list`` and certificate pinning take).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from console.storage.database import make_private_dir
from console.storage.files import write_private  # 0600, fsynced, renamed over: never half a key

FOLDER = "field-tls"
CERT_NAME, KEY_NAME = "cert.pem", "key.pem"
VALID_FOR = timedelta(days=825)  # the longest a browser accepts for a server certificate


class CertificateError(Exception):
    """The certificate or key cannot be used; the message says why."""


@dataclass(frozen=True)
class Certificate:
    cert_path: Path
    key_path: Path
    sha256: str  # the certificate's, as AA:BB:...
    spki_sha256: str  # the public key's, base64 (the pin)
    self_signed: bool

    def context(self) -> ssl.SSLContext:
        """A server context: TLS 1.2 at least, this certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            context.load_cert_chain(self.cert_path, self.key_path)
        except (OSError, ssl.SSLError) as exc:
            raise CertificateError(
                f"the field service's certificate {self.cert_path} and key {self.key_path} "
                f"cannot be used: {exc}"
            ) from exc
        return context


def fingerprints(cert: x509.Certificate) -> tuple[str, str]:
    der = cert.public_bytes(serialization.Encoding.DER)
    digest = hashlib.sha256(der).hexdigest().upper()
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)), pin


def _load(cert_path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except (OSError, ValueError) as exc:
        raise CertificateError(f"cannot read the certificate {cert_path}: {exc}") from exc


def force_certificate(cert_path: Path, key_path: Path) -> Certificate:
    """The force's certificate and key, as the site policy names them (checked now)."""
    cert = _load(cert_path)
    sha, pin = fingerprints(cert)
    found = Certificate(Path(cert_path), Path(key_path), sha, pin, self_signed=False)
    found.context()  # the key must match the certificate
    return found


def _names(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(
        san.get_values_for_type(x509.DNSName)
    )


def install_certificate(data_dir: Path, hosts: list[str]) -> Certificate:
    """The install's own certificate for *hosts* (addresses or names), made once per data
    directory; made anew only when it does not name every host or is near its end."""
    folder = make_private_dir(Path(data_dir) / FOLDER)
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    if cert_path.is_file() and key_path.is_file():
        cert = _load(cert_path)
        fresh = cert.not_valid_after_utc - datetime.now(UTC) > timedelta(days=30)
        if fresh and set(hosts) <= _names(cert):
            sha, pin = fingerprints(cert)
            return Certificate(cert_path, key_path, sha, pin, self_signed=True)
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "LFR console field service")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALID_FOR)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    sha, pin = fingerprints(cert)
    return Certificate(cert_path, key_path, sha, pin, self_signed=True)
