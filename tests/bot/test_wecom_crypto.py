"""WeCom callback crypto, checked against the platform's own published sample so that our encrypt and
decrypt cannot merely agree with each other on a wrong algorithm."""

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.errors import BadCiphertext, BadSignature, MalformedCallback, StaleTimestamp, WrongReceiveId
from bot.wecom.crypto import WeComCrypto

# The official WXBizMsgCrypt sample: github.com/sbzhu/weworkapi_python, callback/Sample.py
# (commit 27220fbe9d5251d46101e33751568eae9f413666), 使用示例一 and 使用示例二.
SAMPLE_TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
SAMPLE_ENCODING_AES_KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
SAMPLE_CORP_ID = "ww1436e0e65a779aee"

SAMPLE_VERIFY_SIGNATURE = "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
SAMPLE_VERIFY_TIMESTAMP = "1476416373"
SAMPLE_VERIFY_NONCE = "47744683"
SAMPLE_VERIFY_ECHOSTR = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="

SAMPLE_POST_SIGNATURE = "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
SAMPLE_POST_TIMESTAMP = "1476422779"
SAMPLE_POST_NONCE = "1597212914"
SAMPLE_POST_BODY = (
    "<xml><ToUserName><![CDATA[ww1436e0e65a779aee]]></ToUserName>\n<Encrypt><![CDATA["
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew+"
    "kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24Yhm"
    "ZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwo"
    "cugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+]]></Encrypt>\n"
    "<AgentID><![CDATA[1000002]]></AgentID>\n</xml>"
)
# The sample's 使用示例三 shows this message as the one to reply with: the same text the POST carries.
SAMPLE_POST_PLAINTEXT = (
    "<xml><ToUserName>ww1436e0e65a779aee</ToUserName><FromUserName>ChenJiaShun</FromUserName>"
    "<CreateTime>1476422779</CreateTime><MsgType>text</MsgType><Content>你好</Content>"
    "<MsgId>1456453720</MsgId><AgentID>1000002</AgentID></xml>"
)
FIVE_MINUTES = 300.0


def sample_crypto(receive_id: str = SAMPLE_CORP_ID) -> WeComCrypto:
    return WeComCrypto(SAMPLE_TOKEN, SAMPLE_ENCODING_AES_KEY, receive_id)


def at(timestamp: str, seconds_later: float = 0.0):
    return lambda: int(timestamp) + seconds_later


def decrypt_sample_post(crypto: WeComCrypto, body: str = SAMPLE_POST_BODY, **overrides: str) -> str:
    request = {
        "msg_signature": SAMPLE_POST_SIGNATURE,
        "timestamp": SAMPLE_POST_TIMESTAMP,
        "nonce": SAMPLE_POST_NONCE,
    } | overrides
    return crypto.decrypt_callback(
        body, **request, max_age_seconds=FIVE_MINUTES, now=at(SAMPLE_POST_TIMESTAMP, seconds_later=20)
    )


def test_the_samples_verify_url_request_is_accepted_and_its_echostr_decrypted() -> None:
    echo = sample_crypto().verify_url(
        SAMPLE_VERIFY_SIGNATURE, SAMPLE_VERIFY_TIMESTAMP, SAMPLE_VERIFY_NONCE, SAMPLE_VERIFY_ECHOSTR
    )

    # The platform's echostr is a random number in decimal; the sample does not print it.
    assert echo == "1288432023552776189"


def test_the_samples_encrypted_post_decrypts_to_the_samples_message() -> None:
    assert decrypt_sample_post(sample_crypto()) == SAMPLE_POST_PLAINTEXT


def test_our_signature_of_the_samples_ciphertext_is_the_samples_signature() -> None:
    crypto = sample_crypto()

    signature = crypto.signature(SAMPLE_VERIFY_TIMESTAMP, SAMPLE_VERIFY_NONCE, SAMPLE_VERIFY_ECHOSTR)

    assert signature == SAMPLE_VERIFY_SIGNATURE


def test_our_encryption_with_the_samples_key_is_what_the_platform_would_send() -> None:
    # Decrypting the sample yields its random prefix; encrypting with that prefix must give the
    # sample's ciphertext byte for byte, so padding to 32 bytes and the framing are the platform's.
    crypto = sample_crypto()
    echo = crypto.verify_url(
        SAMPLE_VERIFY_SIGNATURE, SAMPLE_VERIFY_TIMESTAMP, SAMPLE_VERIFY_NONCE, SAMPLE_VERIFY_ECHOSTR
    )
    prefix = _random_prefix_of(SAMPLE_VERIFY_ECHOSTR)

    assert crypto.encrypt(echo, random_prefix=prefix) == SAMPLE_VERIFY_ECHOSTR


def _random_prefix_of(ciphertext: str) -> bytes:
    key = base64.b64decode(SAMPLE_ENCODING_AES_KEY + "=")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    # CBC's first block is independent of the rest: its plaintext is the 16-byte random prefix.
    return decryptor.update(base64.b64decode(ciphertext)[:16])


def test_a_reply_encrypted_by_us_decrypts_back_to_the_message() -> None:
    crypto = sample_crypto()
    message = "<xml><Content>关于请假的通知</Content></xml>"

    envelope = crypto.encrypt_reply(message, timestamp="1700000000", nonce="42")
    signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]

    decrypted = crypto.decrypt_callback(
        envelope, signature, "1700000000", "42", max_age_seconds=FIVE_MINUTES, now=at("1700000000")
    )
    assert decrypted == message


def test_a_wrong_signature_is_rejected() -> None:
    with pytest.raises(BadSignature, match="'0c3914025cb4b4d68103f6bfc8db550f79dcf48f'"):
        decrypt_sample_post(sample_crypto(), msg_signature="0c3914025cb4b4d68103f6bfc8db550f79dcf48f")


def test_an_altered_ciphertext_with_a_matching_signature_is_rejected() -> None:
    # An attacker without the token cannot re-sign; this checks decryption itself refuses the change.
    crypto = sample_crypto()
    original = SAMPLE_POST_BODY.split("<![CDATA[")[2].split("]]>")[0]
    altered = original[:-30] + ("A" if original[-30] != "A" else "B") + original[-29:]
    body = SAMPLE_POST_BODY.replace(original, altered)
    signature = crypto.signature(SAMPLE_POST_TIMESTAMP, SAMPLE_POST_NONCE, altered)

    with pytest.raises(BadCiphertext):
        decrypt_sample_post(crypto, body=body, msg_signature=signature)


def test_an_altered_ciphertext_fails_the_signature_first() -> None:
    body = SAMPLE_POST_BODY.replace("Kl7kjoSf6", "Kl7kjoSf7")

    with pytest.raises(BadSignature):
        decrypt_sample_post(sample_crypto(), body=body)


def test_a_message_for_another_corporation_is_rejected() -> None:
    with pytest.raises(WrongReceiveId, match="'ww1436e0e65a779aee'.*'ww0000000000000000'"):
        decrypt_sample_post(sample_crypto(receive_id="ww0000000000000000"))


def test_an_old_timestamp_is_rejected_even_with_a_valid_signature() -> None:
    with pytest.raises(StaleTimestamp, match="'1476422779'"):
        sample_crypto().decrypt_callback(
            SAMPLE_POST_BODY,
            SAMPLE_POST_SIGNATURE,
            SAMPLE_POST_TIMESTAMP,
            SAMPLE_POST_NONCE,
            max_age_seconds=FIVE_MINUTES,
            now=at(SAMPLE_POST_TIMESTAMP, seconds_later=FIVE_MINUTES + 1),
        )


def test_a_body_without_encrypt_is_rejected_as_malformed() -> None:
    with pytest.raises(MalformedCallback):
        decrypt_sample_post(sample_crypto(), body="<xml><ToUserName>x</ToUserName></xml>")
