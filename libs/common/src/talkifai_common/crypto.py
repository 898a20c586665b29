"""Secrets at rest: Fernet through MultiFernet, so keys rotate safely.

The first key encrypts; every key decrypts. Rotation: put a new key first, deploy, re-encrypt what is
stored (`SecretBox.rotate`), then drop the old key.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretBoxError(Exception):
    """A key is malformed or a ciphertext cannot be decrypted with any configured key."""


class SecretBox:
    """Encrypts and decrypts small secrets such as SIP passwords."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise SecretBoxError("at least one Fernet key is required")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as exc:
            raise SecretBoxError(
                "each Fernet key must be 32 url-safe base64-encoded bytes "
                "(make one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`)"
            ) from exc

    @classmethod
    def from_csv(cls, keys_csv: str) -> SecretBox:
        """Build from a comma-separated list, newest key first."""
        return cls([key.strip() for key in keys_csv.split(",") if key.strip()])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt with the newest key."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Decrypt with whichever configured key made `token`."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError("ciphertext does not decrypt with any configured key") from exc

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` with the newest key (unchanged plaintext)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretBoxError("ciphertext does not decrypt with any configured key") from exc


def generate_key() -> str:
    """A new random Fernet key."""
    return Fernet.generate_key().decode()
