"""WXBizMsgCrypt: every published vector (V1–V5), the negative cases, interop with wechatpy."""

from __future__ import annotations

import base64
import re
import struct
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException

from bot.channels.errors import (
    AesKeyError,
    Base64Error,
    DecryptError,
    IllegalBuffer,
    ReceiveIdError,
    SignatureError,
    WeComCryptoError,
)
from bot.channels.wecom_crypto import WeComCrypto, pkcs7_pad, pkcs7_unpad
from tests import wecom_vectors as v

FIXED = b"1234567890123456"


def app() -> WeComCrypto:
    return WeComCrypto(v.V1_TOKEN, v.V1_KEY, v.V1_CORP)


# --- published vectors --------------------------------------------------------------------


def test_v1a_url_verification() -> None:
    q = v.V1A
    assert (
        app().verify_and_decrypt(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        == v.V1A_PLAIN.encode()
    )


def test_v1b_xml_message() -> None:
    q = v.V1B
    assert (
        app()
        .verify_and_decrypt(q["msg_signature"], q["timestamp"], q["nonce"], v.V1B_ENCRYPT)
        .decode()
        == v.V1B_PLAIN
    )


def test_v2_json_message_bytes() -> None:
    q = v.V2
    assert (
        app()
        .verify_and_decrypt(q["msg_signature"], q["timestamp"], q["nonce"], v.V2_ENCRYPT)
        .decode()
        == v.V2_PLAIN
    )


def test_v3a_signature_and_wrong_nonce() -> None:
    crypto = WeComCrypto(v.V3_TOKEN, v.V3_KEY, v.V3_CORP)
    q = v.V3A
    assert (
        crypto.verify_and_decrypt(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        == v.V3A_PLAIN.encode()
    )
    with pytest.raises(SignatureError):
        crypto.verify_and_decrypt(q["msg_signature"], q["timestamp"], "437374424", q["echostr"])


def test_v3b_decrypt() -> None:
    crypto = WeComCrypto(v.V3_TOKEN, v.V3_KEY, v.V3_CORP)
    q = v.V3B
    plain = crypto.verify_and_decrypt(
        q["msg_signature"], q["timestamp"], q["nonce"], v.V3B_ENCRYPT
    ).decode()
    assert "<FromUserName><![CDATA[messense]]></FromUserName>" in plain
    assert "<Content><![CDATA[test]]></Content>" in plain and "4363689963896700987" in plain


def test_v3c_deterministic_encrypt() -> None:
    crypto = WeComCrypto(v.V3_TOKEN, v.V3_KEY, v.V3_CORP)
    encrypted = crypto.encrypt(v.V3C_PLAIN, random16=FIXED)
    assert encrypted == v.V3C_ENCRYPT
    assert crypto.sign(v.V3C["timestamp"], v.V3C["nonce"], encrypted) == v.V3C_SIGNATURE


def test_v4_empty_receiveid_from_url_encoded_query() -> None:
    q = {k: vals[0] for k, vals in parse_qs(v.V4_QUERY).items()}
    crypto = WeComCrypto(v.V4_TOKEN, v.V4_KEY, "")
    assert (
        crypto.verify_and_decrypt(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        == v.V4_PLAIN.encode()
    )


def test_v5_ai_bot_json_both_ways() -> None:
    crypto = WeComCrypto(v.V1_TOKEN, v.V1_KEY, "")
    q = v.V5
    assert (
        crypto.verify_and_decrypt(
            q["msg_signature"], q["timestamp"], q["nonce"], v.V5_ENCRYPT
        ).decode()
        == v.V5_PLAIN
    )
    encrypted = crypto.encrypt(v.V5_PLAIN, random16=FIXED)
    assert encrypted == v.V5_ENCRYPT
    assert crypto.sign(q["timestamp"], q["nonce"], encrypted) == q["msg_signature"]


# --- negative cases -----------------------------------------------------------------------


def _raw_encrypt(key: bytes, plain: bytes) -> str:
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def test_bad_signature_is_rejected_before_decrypting() -> None:
    q = v.V1B
    with pytest.raises(SignatureError) as caught:
        app().verify_and_decrypt("0" * 40, q["timestamp"], q["nonce"], v.V1B_ENCRYPT)
    assert caught.value.code == -40001


@pytest.mark.parametrize("pad", [0, 33, 255])
def test_bad_padding_byte(pad: int) -> None:
    crypto = app()
    body = FIXED + struct.pack(">I", 2) + b"hi" + v.V1_CORP.encode()
    block = body + bytes(64 - len(body) - 1) + bytes([pad])
    with pytest.raises(IllegalBuffer):
        crypto.decrypt(_raw_encrypt(crypto.key, block))


def test_inconsistent_padding_bytes() -> None:
    crypto = app()
    body = FIXED + struct.pack(">I", 2) + b"hi" + v.V1_CORP.encode()
    padded = bytearray(pkcs7_pad(body))
    padded[-2] ^= 1
    with pytest.raises(IllegalBuffer):
        crypto.decrypt(_raw_encrypt(crypto.key, bytes(padded)))


def test_wrong_receiveid() -> None:
    q = v.V1B
    other = WeComCrypto(v.V1_TOKEN, v.V1_KEY, "ww0000000000000000")
    with pytest.raises(ReceiveIdError) as caught:
        other.verify_and_decrypt(q["msg_signature"], q["timestamp"], q["nonce"], v.V1B_ENCRYPT)
    assert caught.value.code == -40005
    with pytest.raises(ReceiveIdError):
        WeComCrypto(v.V1_TOKEN, v.V1_KEY, "").decrypt(v.V1B_ENCRYPT)


def test_length_field_beyond_buffer() -> None:
    crypto = app()
    lying = FIXED + struct.pack(">I", 4000) + b"hi" + v.V1_CORP.encode()
    with pytest.raises(IllegalBuffer):
        crypto.decrypt(_raw_encrypt(crypto.key, pkcs7_pad(lying)))


def test_truncated_ciphertexts() -> None:
    crypto = app()
    raw = base64.b64decode(v.V1B_ENCRYPT)
    with pytest.raises(Base64Error):
        crypto.decrypt(v.V1B_ENCRYPT[:-3])
    with pytest.raises(DecryptError):
        crypto.decrypt(base64.b64encode(raw[:-5]).decode())
    with pytest.raises(WeComCryptoError):
        crypto.decrypt(base64.b64encode(raw[:-32]).decode())
    with pytest.raises(DecryptError):
        crypto.decrypt("")


@pytest.mark.parametrize("key", ["short", "x" * 44, "!" * 43])
def test_bad_aes_key(key: str) -> None:
    with pytest.raises(AesKeyError):
        WeComCrypto("t", key, "")


@given(st.binary(max_size=200))
def test_pkcs7_round_trip(data: bytes) -> None:
    padded = pkcs7_pad(data)
    assert len(padded) % 32 == 0 and 1 <= padded[-1] <= 32
    assert pkcs7_unpad(padded) == data


@given(st.text(max_size=300), st.sampled_from(["", v.V1_CORP, "wx企业"]))
def test_round_trip_any_text(text: str, receive_id: str) -> None:
    crypto = WeComCrypto(v.V1_TOKEN, v.V1_KEY, receive_id)
    assert crypto.decrypt(crypto.encrypt(text)) == text.encode("utf-8")


# --- interop with wechatpy (an implementation nobody here wrote) ---------------------------


def _envelope(encrypted: str) -> str:
    return f"<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"


@pytest.mark.parametrize("receive_id", [v.V1_CORP, ""])
def test_ours_encrypts_wechatpy_decrypts(receive_id: str) -> None:
    ours = WeComCrypto(v.V1_TOKEN, v.V1_KEY, receive_id)
    theirs = WeChatCrypto(v.V1_TOKEN, v.V1_KEY, receive_id)
    plain = '{"msgtype":"text","text":{"content":"@质量强县助手 计量怎么得分？"}}'
    encrypted = ours.encrypt(plain)
    signature = ours.sign("1700000000", "98765", encrypted)
    assert theirs.decrypt_message(_envelope(encrypted), signature, "1700000000", "98765") == plain


@pytest.mark.parametrize("receive_id", [v.V1_CORP, ""])
def test_wechatpy_encrypts_ours_decrypts(receive_id: str) -> None:
    ours = WeComCrypto(v.V1_TOKEN, v.V1_KEY, receive_id)
    theirs = WeChatCrypto(v.V1_TOKEN, v.V1_KEY, receive_id)
    plain = "<xml><Content><![CDATA[标准化工作怎么评分？]]></Content></xml>"
    reply = theirs.encrypt_message(plain, "12345", "1700000001")
    fields = dict(re.findall(r"<(\w+)>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</\1>", reply))
    decrypted = ours.verify_and_decrypt(
        fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"], fields["Encrypt"]
    )
    assert decrypted.decode() == plain


def test_wechatpy_agrees_on_signatures() -> None:
    theirs = WeChatCrypto(v.V3_TOKEN, v.V3_KEY, v.V3_CORP)
    q = v.V3A
    assert (
        theirs.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
        == v.V3A_PLAIN
    )
    with pytest.raises(InvalidSignatureException):
        theirs.check_signature(q["msg_signature"], q["timestamp"], "437374424", q["echostr"])
