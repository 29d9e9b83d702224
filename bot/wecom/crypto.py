"""WeCom (企业微信) callback crypto, as the platform documents it for WXBizMsgCrypt.

- signature: SHA1 hex of the sorted concatenation of token, timestamp, nonce and the ciphertext;
- key: base64 of EncodingAESKey + "=" (43 characters → 32 bytes); IV: the key's first 16 bytes;
- cipher: AES-256-CBC, PKCS#7 padded to a 32-byte block (not AES's 16);
- plaintext: 16 random bytes, the message length (4 bytes, big-endian), the message, the receive id
  (the corp id for a self-built application).

The cipher and padding are the `cryptography` package's; only the framing above is ours.
"""

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.errors import (
    BadCiphertext,
    BadSignature,
    ConfigError,
    MalformedCallback,
    StaleTimestamp,
    WrongReceiveId,
)

ENCODING_AES_KEY_LENGTH = 43
# The platform pads to 32 bytes although AES blocks are 16; a 16-byte padder would produce replies
# the platform cannot strip.
PADDING_BLOCK_BITS = 256
RANDOM_PREFIX_BYTES = 16
LENGTH_FIELD = struct.Struct(">I")


class WeComCrypto:
    """Verifies, decrypts and encrypts the callbacks of one WeCom application."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        self._token = token
        self._key = _aes_key(encoding_aes_key)
        self._receive_id = receive_id

    def signature(self, timestamp: str, nonce: str, ciphertext: str) -> str:
        parts = sorted([self._token, timestamp, nonce, ciphertext])
        return hashlib.sha1("".join(parts).encode()).hexdigest()

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The GET check when the callback URL is saved: the decrypted echostr is the response body."""
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        return self._decrypt(echostr)

    def decrypt_callback(
        self,
        body: str | bytes,
        msg_signature: str,
        timestamp: str,
        nonce: str,
        *,
        max_age_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> str:
        """The plaintext XML of a POSTed callback, after checking signature, age and receiver."""
        ciphertext = _encrypt_element(body)
        # The signature first: it is what makes the timestamp trustworthy.
        self._check_signature(msg_signature, timestamp, nonce, ciphertext)
        _check_fresh(timestamp, max_age_seconds, now())
        return self._decrypt(ciphertext)

    def encrypt_reply(self, message: str, timestamp: str, nonce: str) -> str:
        """The XML envelope the platform expects for a reply (and the stand-in sends as a callback)."""
        ciphertext = self.encrypt(message)
        signature = self.signature(timestamp, nonce, ciphertext)
        return (
            f"<xml><Encrypt><![CDATA[{ciphertext}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{escape(timestamp)}</TimeStamp><Nonce><![CDATA[{nonce}]]></Nonce></xml>"
        )

    def encrypt(self, message: str, random_prefix: bytes | None = None) -> str:
        """Base64 ciphertext of message; random_prefix is fixed only to reproduce a known ciphertext."""
        prefix = os.urandom(RANDOM_PREFIX_BYTES) if random_prefix is None else random_prefix
        if len(prefix) != RANDOM_PREFIX_BYTES:
            raise ValueError(f"random_prefix must be {RANDOM_PREFIX_BYTES} bytes, got {len(prefix)}")
        encoded = message.encode()
        plain = prefix + LENGTH_FIELD.pack(len(encoded)) + encoded + self._receive_id.encode()
        padder = padding.PKCS7(PADDING_BLOCK_BITS).padder()
        padded = padder.update(plain) + padder.finalize()
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, ciphertext: str) -> None:
        expected = self.signature(timestamp, nonce, ciphertext)
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise BadSignature(
                f"msg_signature {msg_signature!r} does not match (timestamp {timestamp!r}, nonce {nonce!r})"
            )

    def _decrypt(self, ciphertext: str) -> str:
        try:
            raw = base64.b64decode(ciphertext, validate=True)
        except binascii.Error:
            raise BadCiphertext(f"ciphertext is not base64: {ciphertext[:40]!r}") from None
        try:
            decryptor = self._cipher().decryptor()
            padded = decryptor.update(raw) + decryptor.finalize()
            unpadder = padding.PKCS7(PADDING_BLOCK_BITS).unpadder()
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError as error:
            raise BadCiphertext(f"ciphertext of {len(raw)} bytes does not decrypt: {error}") from None
        message_start = RANDOM_PREFIX_BYTES + LENGTH_FIELD.size
        if len(plain) < message_start:
            raise BadCiphertext(f"plaintext of {len(plain)} bytes is shorter than its header")
        (message_length,) = LENGTH_FIELD.unpack_from(plain, RANDOM_PREFIX_BYTES)
        message_end = message_start + message_length
        if message_end > len(plain):
            raise BadCiphertext(f"length field {message_length} exceeds the {len(plain)}-byte plaintext")
        try:
            message = plain[message_start:message_end].decode()
            receive_id = plain[message_end:].decode()
        except UnicodeDecodeError:
            raise BadCiphertext("plaintext is not UTF-8") from None
        if receive_id != self._receive_id:
            raise WrongReceiveId(f"message is for {receive_id!r}, this application is {self._receive_id!r}")
        return message

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))


def _aes_key(encoding_aes_key: str) -> bytes:
    # The key itself never goes into a message: only its length.
    if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
        raise ConfigError(f"EncodingAESKey must be {ENCODING_AES_KEY_LENGTH} characters, got {len(encoding_aes_key)}")
    try:
        return base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error:
        raise ConfigError("EncodingAESKey is not base64 (letters and digits only)") from None


def callback_xml(text: str, what: str, shown: str = "") -> ElementTree.Element:
    """The root of a callback's XML (`what` names it in the error; `shown` is what of it the error
    may quote: a decrypted message is the member's own text and stays out of the log)."""
    # The platform never sends a DTD; refusing one keeps entity tricks away from the parser.
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise MalformedCallback(f"{what} declares a DTD")
    try:
        return ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise MalformedCallback(f"{what} is not XML ({error}){shown}") from None


def _encrypt_element(body: str | bytes) -> str:
    text = body.decode(errors="replace") if isinstance(body, bytes) else body
    root = callback_xml(text, "callback body", f": {text[:80]!r}")
    ciphertext = root.findtext("Encrypt")
    if not ciphertext:
        raise MalformedCallback(f"callback body has no <Encrypt>: {text[:80]!r}")
    return ciphertext


def _check_fresh(timestamp: str, max_age_seconds: float, now: float) -> None:
    try:
        signed_at = int(timestamp)
    except ValueError:
        raise MalformedCallback(f"timestamp {timestamp!r} is not a number") from None
    # A timestamp from the future is refused as well: it would stay "fresh" for a replay.
    if abs(now - signed_at) > max_age_seconds:
        raise StaleTimestamp(
            f"timestamp {timestamp!r} is {now - signed_at:.0f} s from now, beyond {max_age_seconds:g} s"
        )
