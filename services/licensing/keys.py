"""The token signing key, its self-signed certificate and the registry's certificate bundle.

Distribution 2.8 trusts a token whose header `kid` is the libtrust key id of a public key
in a certificate of its `rootcertbundle`, so the bundle contains certificates (never bare
keys) and every token names its key by that id. Key files are written with mode 0600 and
no function here logs key material.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

log = structlog.get_logger()

CURRENT_KEY = "current.key.pem"
CURRENT_CERTIFICATE = "current.crt.pem"
PREVIOUS_CERTIFICATE = "previous.crt.pem"
BUNDLE = "bundle.pem"
CERTIFICATE_LIFETIME = timedelta(days=3 * 365)


@dataclass(frozen=True)
class SigningKey:
    """The private key that signs registry tokens, with its certificate and libtrust id."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate
    kid: str

    def __repr__(self) -> str:
        # The default dataclass repr would print the key object; keep logs free of it.
        return f"SigningKey(kid={self.kid!r})"


def libtrust_key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    """Compute the libtrust key id: SHA-256 of the DER SubjectPublicKeyInfo, first 240 bits,
    base32 without padding, in twelve groups of four characters joined by colons."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashlib.sha256(der).digest()[:30]
    encoded = base64.b32encode(digest).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def load_or_create(keys_dir: Path, *, key_file: str = "", certificate_file: str = "") -> SigningKey:
    """Load the configured or stored signing key; generate one on first start.

    Configured files take precedence and are only read. Otherwise the key lives in
    `keys_dir`, and the certificate bundle there is rewritten to match it.
    """
    if key_file or certificate_file:
        if not (key_file and certificate_file):
            raise ValueError(
                "Set both WHARF_LICENSING_SIGNING_KEY_FILE and "
                "WHARF_LICENSING_SIGNING_CERTIFICATE_FILE, or neither to generate a key"
            )
        signing_key = _read(Path(key_file), Path(certificate_file))
        _write_bundle(keys_dir, [signing_key.certificate])
        return signing_key

    keys_dir.mkdir(parents=True, exist_ok=True)
    key_path = keys_dir / CURRENT_KEY
    certificate_path = keys_dir / CURRENT_CERTIFICATE
    if not key_path.exists():
        signing_key = _generate()
        _write_private(key_path, _key_pem(signing_key.private_key))
        _write_atomic(certificate_path, _certificate_pem(signing_key.certificate))
        log.info("licensing.signing_key.created", kid=signing_key.kid, keys_dir=str(keys_dir))
    else:
        signing_key = _read(key_path, certificate_path)

    _write_bundle(keys_dir, _trusted_certificates(keys_dir, signing_key))
    return signing_key


def rotate(keys_dir: Path) -> SigningKey:
    """Replace the generated signing key; the old certificate stays trusted one more round.

    The registry reads its bundle only at start, so restart it after a rotation
    (`RegistryProcess.restart`). Tokens signed with the old key stay valid until they
    expire, because its certificate remains in the bundle.
    """
    keys_dir.mkdir(parents=True, exist_ok=True)
    certificate_path = keys_dir / CURRENT_CERTIFICATE
    if certificate_path.exists():
        os.replace(certificate_path, keys_dir / PREVIOUS_CERTIFICATE)

    signing_key = _generate()
    _write_private(keys_dir / CURRENT_KEY, _key_pem(signing_key.private_key))
    _write_atomic(certificate_path, _certificate_pem(signing_key.certificate))
    _write_bundle(keys_dir, _trusted_certificates(keys_dir, signing_key))
    log.info("licensing.signing_key.rotated", kid=signing_key.kid, keys_dir=str(keys_dir))
    return signing_key


def bundle_path(keys_dir: Path) -> Path:
    return keys_dir / BUNDLE


def _trusted_certificates(keys_dir: Path, signing_key: SigningKey) -> list[x509.Certificate]:
    certificates = [signing_key.certificate]
    previous = keys_dir / PREVIOUS_CERTIFICATE
    if previous.exists():
        certificates.append(x509.load_pem_x509_certificate(previous.read_bytes()))
    return certificates


def _generate() -> SigningKey:
    private_key = ec.generate_private_key(ec.SECP256R1())
    kid = libtrust_key_id(private_key.public_key())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Wharf registry token signer")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + CERTIFICATE_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(private_key, hashes.SHA256())
    )
    return SigningKey(private_key=private_key, certificate=certificate, kid=kid)


def _read(key_path: Path, certificate_path: Path) -> SigningKey:
    private_key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or private_key.curve.name != "secp256r1":
        raise ValueError(f"The signing key in {key_path} must be an EC P-256 key for ES256 tokens")
    certificate = x509.load_pem_x509_certificate(certificate_path.read_bytes())
    if certificate.public_key().public_numbers() != private_key.public_key().public_numbers():
        raise ValueError(f"The certificate in {certificate_path} does not match the key in {key_path}")
    return SigningKey(
        private_key=private_key,
        certificate=certificate,
        kid=libtrust_key_id(private_key.public_key()),
    )


def _key_pem(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _certificate_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def _write_bundle(keys_dir: Path, certificates: list[x509.Certificate]) -> None:
    keys_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(bundle_path(keys_dir), b"".join(_certificate_pem(c) for c in certificates))


def _write_private(path: Path, content: bytes) -> None:
    _write_atomic(path, content, mode=0o600)


def _write_atomic(path: Path, content: bytes, *, mode: int = 0o644) -> None:
    # Write beside the target and rename, so a reader never sees half a key or bundle.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.fchmod(handle, mode)
    with os.fdopen(handle, "wb") as file:
        file.write(content)
    os.replace(temporary, path)
