"""The signer of the museum's content credentials: a root CA and a claim-signing certificate.

C2PA refuses a self-signed signing certificate, so the museum makes a small chain of its own with
`cryptography`: a root CA (the trust anchor a verifier is given) and an end-entity certificate
for claim signing (digital signature, e-mail protection EKU, as the C2PA certificate profile
asks). They are created once, beside the development master key under
`MUSEUM_HOME/content-credentials/`, with both private keys encrypted under a key derived from the
master key (a copied folder is useless without it). A deployer sets `MUSEUM_C2PA_CERT_CHAIN` and
`MUSEUM_C2PA_KEY` to sign with a certificate of their own instead, and `MUSEUM_C2PA_TRUST_ANCHORS`
to name the roots that verification trusts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ledger.crypto import MasterKey
from ledger.errors import ConfigurationError
from ledger.settings import Settings

ORGANISATION = "Museum of Failures"
ROOT_FILE, ROOT_KEY_FILE = "root.pem", "root.key"
CHAIN_FILE, KEY_FILE = "signer.pem", "signer.key"
ROOT_YEARS, SIGNER_YEARS = 25, 10

# COSE algorithm names as c2pa-python's `C2paSigningAlg` spells them, by key type and size.
_EC_ALGORITHMS = {"secp256r1": ("es256", hashes.SHA256()), "secp384r1": ("es384", hashes.SHA384())}
_EC_ALGORITHMS["secp521r1"] = ("es512", hashes.SHA512())


@dataclass(frozen=True)
class ClaimSigner:
    """A chain (end entity first) and its private key: what signs a manifest's claim."""

    chain_pem: str
    key: PrivateKeyTypes
    trust_anchors_pem: str

    @property
    def algorithm(self) -> str:
        if isinstance(self.key, ec.EllipticCurvePrivateKey):
            return _EC_ALGORITHMS[self.key.curve.name][0]
        if isinstance(self.key, ed25519.Ed25519PrivateKey):
            return "ed25519"
        return "ps256"

    def sign(self, data: bytes) -> bytes:
        """The signature COSE expects: raw r‖s for ECDSA, PSS for RSA, plain Ed25519."""
        key = self.key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(data, ec.ECDSA(_EC_ALGORITHMS[key.curve.name][1])))
            size = (key.curve.key_size + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(data)
        if isinstance(key, rsa.RSAPrivateKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            return key.sign(data, pss, hashes.SHA256())
        raise ConfigurationError("the content-credentials key is not an EC, Ed25519 or RSA key")


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
        ]
    )


def _usage(*, signer: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signer,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signer,
        crl_sign=not signer,
        encipher_only=False,
        decipher_only=False,
    )


def make_chain(
    organisation: str = ORGANISATION, now: datetime | None = None
) -> tuple[
    x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate, ec.EllipticCurvePrivateKey
]:
    """A fresh root CA and a claim-signing certificate it issued (P-256 keys, ES256)."""
    now = now or datetime.now(UTC)
    start = now - timedelta(minutes=5)  # a verifier's clock a little behind still accepts it
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = _name(f"{organisation} content credentials root")
    root = (
        x509.CertificateBuilder()
        .subject_name(root_name)
        .issuer_name(root_name)
        .public_key(root_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + timedelta(days=365 * ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signer=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
        .sign(root_key, hashes.SHA256())
    )
    signer_key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organisation} claim signer"))
        .issuer_name(root_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + timedelta(days=365 * SIGNER_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signer=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    return root, root_key, signer, signer_key


def pem(*certificates: x509.Certificate) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certificates)


def _sealed(key: PrivateKeyTypes, master: MasterKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(master.credentials_file_key.hex().encode()),
    )


def create_museum_chain(folder: Path, master: MasterKey) -> None:
    """Write a new chain into `folder` whole: made in a sibling temporary folder and renamed, so
    a concurrent first use by another process keeps whichever chain was renamed first."""
    root, root_key, signer, signer_key = make_chain()
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=".content-credentials-", dir=folder.parent))
    try:
        (temporary / ROOT_FILE).write_text(pem(root))
        (temporary / CHAIN_FILE).write_text(pem(signer, root))
        for name, key in ((ROOT_KEY_FILE, root_key), (KEY_FILE, signer_key)):
            (temporary / name).write_bytes(_sealed(key, master))
            os.chmod(temporary / name, 0o600)
        os.rename(temporary, folder)
    except OSError:
        if not (folder / KEY_FILE).exists():
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{what} {path} cannot be read: {exc.strerror or exc}") from None


def _certificates(data: bytes, what: str, path: Path) -> list[x509.Certificate]:
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        certificates = []
    if not certificates:
        raise ConfigurationError(f"{what} {path} holds no PEM certificate")
    return certificates


def _key(data: bytes, password: bytes | None, what: str, path: Path) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(data, password)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{what} {path} is not a PEM private key that opens"
            + (" with this master key" if password else " (it must not be encrypted)")
        ) from None


def _public_bytes(key: object) -> bytes:
    public = key.public_key() if hasattr(key, "public_key") else key
    return public.public_bytes(  # type: ignore[no-any-return, union-attr]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def trust_anchors(settings: Settings) -> str | None:
    """The roots verification trusts, without the master key: `MUSEUM_C2PA_TRUST_ANCHORS`, else
    the top of a deployer's chain, else the museum's root (None before it exists)."""
    if settings.c2pa_trust_anchors is not None:
        path = settings.c2pa_trust_anchors
        return pem(*_certificates(_read(path, "MUSEUM_C2PA_TRUST_ANCHORS"), "the file", path))
    if settings.c2pa_cert_chain is not None:
        path = settings.c2pa_cert_chain
        return pem(_certificates(_read(path, "MUSEUM_C2PA_CERT_CHAIN"), "the file", path)[-1])
    root = settings.credentials_dir / ROOT_FILE
    return root.read_text() if root.exists() else None


def claim_signer(settings: Settings, master: MasterKey) -> ClaimSigner:
    """The deployer's signer if configured, else the museum's (created on first use)."""
    if settings.c2pa_cert_chain is not None and settings.c2pa_key is not None:
        chain_path, key_path = settings.c2pa_cert_chain, settings.c2pa_key
        chain = _certificates(_read(chain_path, "MUSEUM_C2PA_CERT_CHAIN"), "the file", chain_path)
        key = _key(_read(key_path, "MUSEUM_C2PA_KEY"), None, "MUSEUM_C2PA_KEY", key_path)
    else:
        folder = settings.credentials_dir
        if not (folder / KEY_FILE).exists():
            create_museum_chain(folder, master)
        chain_path, key_path = folder / CHAIN_FILE, folder / KEY_FILE
        chain = _certificates(_read(chain_path, "the chain"), "the chain", chain_path)
        password = master.credentials_file_key.hex().encode()
        key = _key(_read(key_path, "the signing key"), password, "the signing key", key_path)
    if _public_bytes(key) != _public_bytes(chain[0].public_key()):
        raise ConfigurationError(
            f"the content-credentials key {key_path} does not belong to the first "
            f"certificate of {chain_path}"
        )
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name not in _EC_ALGORITHMS:
        raise ConfigurationError(f"the content-credentials key {key_path} is on an unusable curve")
    anchors = trust_anchors(settings) or pem(chain[-1])
    return ClaimSigner(chain_pem=pem(*chain), key=key, trust_anchors_pem=anchors)
