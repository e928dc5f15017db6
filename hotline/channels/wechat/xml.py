"""WeChat's XML: the messages an official account receives and the passive reply it returns.

Parsing goes through ``defusedxml``: the body comes from the internet, so entity expansion and
external entities are refused rather than trusted to the platform's parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from hotline.errors import BadRequest


@dataclass(frozen=True)
class WeChatMessage:
    """One message or event pushed to the account, with the fields this channel reads."""

    to_user: str  # the account's original id (gh_…)
    from_user: str  # the citizen's openid
    create_time: int
    msg_type: str  # text, voice, location, image, event…
    msg_id: str | None
    content: str = ""
    #: WeChat's own speech recognition of a voice message (when the account enabled it)
    recognition: str = ""
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""
    event: str = ""


def parse_xml(body: bytes | str) -> Element:
    """The root element; ``BadRequest`` for anything that is not plain, well-formed XML."""
    try:
        root = fromstring(body)
    except (ParseError, DefusedXmlException, ValueError) as e:
        raise BadRequest(f"malformed WeChat XML: {e}", code="malformed_xml") from e
    if root.tag != "xml":
        raise BadRequest(
            "malformed WeChat XML: the root element must be <xml>", code="malformed_xml"
        )
    return root


def field(root: Element, name: str) -> str:
    return (root.findtext(name) or "").strip()


def read_message(root: Element) -> WeChatMessage:
    """The message in a (decrypted) push; ``BadRequest`` names a missing or bad field."""
    required = {name: field(root, name) for name in ("ToUserName", "FromUserName", "MsgType")}
    missing = [name for name, value in required.items() if not value]
    if missing:
        raise BadRequest(f"WeChat message without {', '.join(missing)}", code="malformed_xml")
    try:
        create_time = int(field(root, "CreateTime") or "0")
        latitude = float(field(root, "Location_X")) if field(root, "Location_X") else None
        longitude = float(field(root, "Location_Y")) if field(root, "Location_Y") else None
    except ValueError as e:
        raise BadRequest(f"WeChat message with a bad number: {e}", code="malformed_xml") from e
    return WeChatMessage(
        to_user=required["ToUserName"],
        from_user=required["FromUserName"],
        create_time=create_time,
        msg_type=required["MsgType"].lower(),
        msg_id=field(root, "MsgId") or None,
        content=field(root, "Content"),
        recognition=field(root, "Recognition"),
        latitude=latitude,
        longitude=longitude,
        label=field(root, "Label"),
        event=field(root, "Event").lower(),
    )


def cdata(text: str) -> str:
    """``text`` as CDATA; a ``]]>`` inside is split across two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(*, to_user: str, from_user: str, create_time: int, content: str) -> str:
    """The passive reply (被动回复) of one text message."""
    return (
        "<xml>"
        f"<ToUserName>{cdata(to_user)}</ToUserName>"
        f"<FromUserName>{cdata(from_user)}</FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    )


def encrypted_reply(*, encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
    """The envelope of a safe-mode reply."""
    return (
        "<xml>"
        f"<Encrypt>{cdata(encrypt)}</Encrypt>"
        f"<MsgSignature>{cdata(signature)}</MsgSignature>"
        f"<TimeStamp>{timestamp}</TimeStamp>"
        f"<Nonce>{cdata(nonce)}</Nonce>"
        "</xml>"
    )
