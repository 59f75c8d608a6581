"""One exception family for every channel adapter."""

from __future__ import annotations


class ChannelError(Exception):
    """Something went wrong talking to a chat platform."""


class MalformedRequest(ChannelError):
    """An inbound callback or update could not be parsed (answered with HTTP 400)."""


class UnusableMessage(ChannelError):
    """An authenticated message whose fields have the wrong type: acknowledged (empty 200), not handled.

    The platform retries any other answer, and a retry of the same message cannot fare better.
    """


class RejectedRequest(ChannelError):
    """An inbound callback failed authentication or freshness checks (HTTP 403)."""


class StaleTimestamp(RejectedRequest):
    """The callback's timestamp lies outside the accepted window."""


class WeComCryptoError(ChannelError):
    """WXBizMsgCrypt failure; `code` is the official ierror.py number."""

    code = -40000

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.__class__.__doc__ or "")


class SignatureError(WeComCryptoError, RejectedRequest):
    """msg_signature does not match (ValidateSignature_Error)."""

    code = -40001


class AesKeyError(WeComCryptoError):
    """EncodingAESKey is not 43 base64 characters decoding to 32 bytes (IllegalAesKey)."""

    code = -40004


class ReceiveIdError(WeComCryptoError):
    """The decrypted receiveid is not ours (ValidateCorpid_Error)."""

    code = -40005


class DecryptError(WeComCryptoError):
    """The ciphertext is not valid AES-CBC output (DecryptAES_Error)."""

    code = -40007


class IllegalBuffer(WeComCryptoError):
    """The decrypted buffer has bad padding or a bad length (IllegalBuffer)."""

    code = -40008


class Base64Error(WeComCryptoError):
    """The ciphertext is not valid base64 (DecodeBase64_Error)."""

    code = -40010


class WeComApiError(ChannelError):
    """A WeCom REST call answered a non-zero errcode."""

    def __init__(self, errcode: int, errmsg: str, api: str) -> None:
        super().__init__(f"{api}: errcode {errcode} ({errmsg})")
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api
