"""Files users send through WeCom: the 智能机器人's encrypted file URLs and the 自建应用's media ids.

智能机器人 image/file messages carry a URL valid for 5 minutes whose bytes are AES-256-CBC encrypted
with the callback EncodingAESKey (key = base64(aeskey + "="), IV = key[:16], PKCS#7 padded to 32
bytes; shared/reference §4.1, §8). They are decrypted as they stream in, so the intake checks the
size limit and hashes without ever holding the file; the last 32 bytes are held back until the end
to strip the padding. A truncated body (the connection closes early, or the ciphertext is not whole
blocks, or the padding is wrong) raises AttachmentUnavailable and nothing is stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.errors import ChannelError, IllegalBuffer
from bot.channels.wecom_crypto import BLOCK, pkcs7_unpad
from handlers.core import AttachmentUnavailable, Chunks

CHUNK = 64 * 1024
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_read=30)


class FileDecryptor:
    """Streaming AES-256-CBC decryption of a 智能机器人 file, PKCS#7 (32) stripped at the end."""

    def __init__(self, key: bytes) -> None:
        """`key`: the 32-byte AES key of the callback (WeComCrypto.key)."""
        self._decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
        self._held = b""
        self._size = 0

    def feed(self, data: bytes) -> bytes:
        """Decrypt a chunk; returns the plaintext that is certainly not padding."""
        self._size += len(data)
        plain = self._held + self._decryptor.update(data)
        self._held, out = plain[-BLOCK:], plain[:-BLOCK]
        return out

    def finish(self) -> bytes:
        """The last plaintext, padding stripped; IllegalBuffer when the ciphertext was cut short."""
        if self._size == 0 or self._size % 16:
            raise IllegalBuffer("encrypted file is not a whole number of AES blocks (truncated?)")
        plain = self._held + self._decryptor.finalize()
        return pkcs7_unpad(plain)


def encrypted_url(session: aiohttp.ClientSession, url: str, key: bytes) -> Chunks:
    """The chunks of a 智能机器人 file URL, decrypted as they arrive."""

    async def chunks() -> AsyncIterator[bytes]:
        decryptor = FileDecryptor(key)
        try:
            async with session.get(url, timeout=DOWNLOAD_TIMEOUT) as response:
                if response.status != 200:
                    raise AttachmentUnavailable(f"file URL answered HTTP {response.status}")
                async for data in response.content.iter_chunked(CHUNK):
                    plain = decryptor.feed(data)
                    if plain:
                        yield plain
            yield decryptor.finish()
        except (aiohttp.ClientError, TimeoutError, IllegalBuffer, ValueError) as exc:
            raise AttachmentUnavailable(f"wecom_bot file download failed: {type(exc).__name__}: {exc}") from None

    return chunks


def media_chunks(stream: Chunks) -> Chunks:
    """A 自建应用 media/get stream, its channel errors turned into AttachmentUnavailable."""

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for data in stream():
                yield data
        except (ChannelError, aiohttp.ClientError, TimeoutError) as exc:
            raise AttachmentUnavailable(f"wecom_app media/get failed: {type(exc).__name__}: {exc}") from None

    return chunks
