"""WXBizMsgCrypt, written from the published algorithm (see shared/reference §2.3).

AES-256-CBC with key = base64(EncodingAESKey + "="), IV = key[:16], PKCS#7 padded to 32-byte
blocks; plaintext = random16 + msg_len (4 bytes, big-endian) + msg + receiveid; signature =
sha1 over the sorted token, timestamp, nonce and ciphertext, compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.errors import (
    AesKeyError,
    Base64Error,
    DecryptError,
    IllegalBuffer,
    ReceiveIdError,
    SignatureError,
)

BLOCK = 32


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """The msg_signature WeCom computes: sha1 of the four values sorted and joined."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode("utf-8")).hexdigest()


def pkcs7_pad(data: bytes) -> bytes:
    """Pad to a multiple of 32 bytes (1..32 pad bytes, each equal to the count)."""
    pad = BLOCK - len(data) % BLOCK
    return data + bytes([pad]) * pad


def pkcs7_unpad(data: bytes) -> bytes:
    """Strip and validate the 32-byte PKCS#7 padding."""
    if not data or len(data) % 16:
        raise IllegalBuffer("decrypted length is not a whole number of blocks")
    pad = data[-1]
    if not 1 <= pad <= BLOCK or data[-pad:] != bytes([pad]) * pad:
        raise IllegalBuffer("bad PKCS#7 padding")
    return data[:-pad]


class WeComCrypto:
    """Sign, verify, encrypt and decrypt WeCom callback messages for one receiveid."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self.token = token
        self.receive_id = receive_id
        self.key = _aes_key(encoding_aes_key)

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """The signature for an outgoing (reply) message."""
        return signature(self.token, timestamp, nonce, encrypted)

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        """Raise SignatureError unless msg_signature is right (constant-time compare)."""
        expected = self.sign(timestamp, nonce, encrypted)
        if not hmac.compare_digest(
            expected.encode(), msg_signature.lower().encode("utf-8", "replace")
        ):
            raise SignatureError()

    def encrypt(self, message: str | bytes, random16: bytes | None = None) -> str:
        """Base64 ciphertext of one message; random16 is fixed only in tests."""
        body = message.encode("utf-8") if isinstance(message, str) else message
        prefix = random16 if random16 is not None else _random_digits()
        plain = prefix + struct.pack(">I", len(body)) + body + self.receive_id.encode("utf-8")
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(pkcs7_pad(plain)) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> bytes:
        """The message bytes inside a ciphertext; checks padding, length and receiveid."""
        plain = pkcs7_unpad(self._aes_decrypt(_b64decode(encrypted)))
        if len(plain) < 20:
            raise IllegalBuffer("decrypted buffer is too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise IllegalBuffer("message length exceeds the buffer")
        if plain[20 + length :] != self.receive_id.encode("utf-8"):
            raise ReceiveIdError()
        return plain[20 : 20 + length]

    def verify_and_decrypt(
        self, msg_signature: str, timestamp: str, nonce: str, encrypted: str
    ) -> bytes:
        """Verify the signature, then decrypt: the usual callback step."""
        self.verify(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def _aes_decrypt(self, data: bytes) -> bytes:
        if not data or len(data) % 16:
            raise DecryptError("ciphertext is not a whole number of AES blocks")
        decryptor = self._cipher().decryptor()
        return decryptor.update(data) + decryptor.finalize()

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16]))


def _aes_key(encoding_aes_key: str) -> bytes:
    if len(encoding_aes_key) != 43:
        raise AesKeyError("EncodingAESKey must be 43 characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise AesKeyError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise AesKeyError("EncodingAESKey does not decode to 32 bytes")
    return key


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.replace(" ", "+"), validate=True)
    except (binascii.Error, ValueError):
        raise Base64Error() from None


def _random_digits() -> bytes:
    return f"{secrets.randbelow(10**16):016d}".encode()
