"""Reading mail as Chinese mail clients write it: charsets, quoted replies, robots, threads."""

from __future__ import annotations

import base64
from email import policy
from email.message import EmailMessage

import pytest

from hotline.channels.email.decode import decode_header_value, html_to_text
from hotline.channels.email.imap import folder_name
from hotline.channels.email.parse import MalformedMail, ParsedMail, parse_mail
from hotline.channels.email.quotes import strip_quoted
from hotline.channels.email.threads import message_id, reply_subject, tagged_number
from tests.channels.mail_servers import OUR_ADDRESS, citizen_mail


def parse(mail: EmailMessage | bytes) -> ParsedMail:
    raw = mail if isinstance(mail, bytes) else mail.as_bytes(policy=policy.SMTP)
    return parse_mail(raw, own_address=OUR_ADDRESS)


@pytest.mark.parametrize(
    ("written", "new"),
    [
        ("好的，地址是解放路3号。\n\n------------------ 原始邮件 ------------------\n"
         "发件人: \"12345\"<12345@city.cn>;\n发送时间: 2026年12月5日\n已为您登记",
         "好的，地址是解放路3号。"),
        ("补充照片。\n\n-----原始邮件-----\n发件人: 12345\n已为您登记", "补充照片。"),
        ("收到。\n\n12345热线 <12345@city.cn> 于2026年12月5日周六 10:00写道：\n> 已为您登记",
         "收到。"),
        ("谢谢\n\n发件人: 12345 <12345@city.cn>\n日期: 2026-12-05\n主题: Re: 路灯", "谢谢"),
        ("Thanks\n\nOn Sat, Dec 5, 2026 at 10:00 12345 <12345@city.cn> wrote:\n> hi", "Thanks"),
        ("第一段\n> 引用\n第二段\n-- \n张三 签名", "第一段\n第二段"),
        ("请看转发的通知\n---------- Forwarded message ---------\nFrom: 物业\nDate: 今天\n停水",
         "请看转发的通知\n---------- Forwarded message ---------\nFrom: 物业\nDate: 今天\n停水"),
        ("> 只有引用", "> 只有引用"),
    ],
)  # fmt: skip
def test_quoted_replies_are_cut_and_forwards_kept(written: str, new: str) -> None:
    assert strip_quoted(written) == new


def test_mislabelled_and_unlabelled_chinese_text_is_decoded() -> None:
    gbk = base64.b64encode("朱镕基路".encode("gbk")).decode()
    assert decode_header_value(f"=?gb2312?B?{gbk}?=") == "朱镕基路"  # GBK labelled GB2312
    big5 = base64.b64encode("臺北市信義路".encode("big5")).decode()
    assert decode_header_value(f"=?big5?B?{big5}?=") == "臺北市信義路"
    raw = "路灯不亮".encode("gbk").decode("ascii", "surrogateescape")  # 8-bit, no RFC 2047
    assert decode_header_value(raw) == "路灯不亮"
    folded = "=?utf-8?B?" + base64.b64encode("噪音".encode()).decode() + "?=\r\n =?utf-8?B?"
    folded += base64.b64encode("扰民".encode()).decode() + "?="
    assert decode_header_value(folded) == "噪音扰民"


def test_a_big5_body_is_read() -> None:
    mail = citizen_mail("", subject="路燈")
    mail.set_content("信義路的路燈壞了".encode("big5"), maintype="text", subtype="plain",
                     params={"charset": "big5"}, cte="base64")  # fmt: skip
    assert parse(mail).body == "信義路的路燈壞了"


def test_html_becomes_text() -> None:
    html = "<div>路面&nbsp;塌陷</div><table><tr><td>地点</td><td>人民路</td></tr></table>"
    assert html_to_text(html) == "路面 塌陷\n\n地点人民路"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Return_Path": "<>"}, "empty Return-Path"),
        ({"Auto_Submitted": "auto-generated"}, "Auto-Submitted"),
        ({"Precedence": "junk"}, "Precedence"),
        ({"List_Unsubscribe": "<mailto:x@y.z>"}, "list-unsubscribe"),  # newsletters
        ({"X_Auto_Response_Suppress": "OOF"}, "x-auto-response-suppress"),
        ({"sender": "postmaster@example.com"}, "sender postmaster"),
        ({"sender": "no-reply@bank.example"}, "sender no-reply"),
        ({"Auto_Submitted": "no"}, None),
    ],
)
def test_machines_are_recognised(headers: dict[str, str], reason: str | None) -> None:
    assert parse(citizen_mail("x", **headers)).automated == reason


@pytest.mark.parametrize(
    ("reply_to", "answered", "name"),
    [
        ("李四 <LiSi.Home@Example.CN>", "lisi.home@example.cn", "李四"),
        ("lisi.home@example.cn", "lisi.home@example.cn", "张三"),  # From's name kept
        ("lisi@example.cn, wangwu@example.cn", "lisi@example.cn", "张三"),  # the first
        ("noreply@forms.example.cn", "zhangsan@example.com", "张三"),
        ("do-not-reply+123@example.cn", "zhangsan@example.com", "张三"),
        ("bounces+x=y@lists.example.cn", "zhangsan@example.com", "张三"),
        ("autoresponder@example.cn", "zhangsan@example.com", "张三"),
        ("residents-request@lists.example.cn", "zhangsan@example.com", "张三"),
        ("owner-residents@lists.example.cn", "zhangsan@example.com", "张三"),
        (f"12345 <{OUR_ADDRESS}>", "zhangsan@example.com", "张三"),  # a loop through us
        ("not an address", "zhangsan@example.com", "张三"),
    ],
)
def test_a_person_is_answered_at_reply_to_and_a_robot_never(
    reply_to: str, answered: str, name: str
) -> None:
    mail = parse(citizen_mail("请回复到我的私人信箱", Reply_To=reply_to))
    assert (mail.sender, mail.sender_name, mail.author) == (answered, name, "zhangsan@example.com")
    assert mail.automated is None


def test_a_robots_mail_stays_ignored_whatever_its_reply_to() -> None:
    mail = parse(
        citizen_mail("表单通知", sender="noreply@forms.example.cn", Reply_To="lisi@example.cn")
    )
    assert (mail.automated, mail.sender) == ("sender noreply", "noreply@forms.example.cn")


def test_a_delivery_report_is_a_machines_mail() -> None:
    report = citizen_mail("Delivery failed")
    report.replace_header("Content-Type", 'multipart/report; report-type=delivery-status; b="x"')
    raw = report.as_bytes(policy=policy.SMTP).replace(b"Delivery failed", b"--x\r\n\r\nno\r\n--x--")
    assert parse(raw).automated == "delivery report"


def test_a_mail_without_a_sender_is_malformed() -> None:
    with pytest.raises(MalformedMail) as raised:
        parse(b"Subject: hi\r\n\r\nno sender here")
    assert raised.value.reason == "邮件没有可识别的发件人地址"
    for sender in (b"not an address", b"a@" + b"x" * 260 + b".cn"):
        with pytest.raises(MalformedMail):
            parse(b"From: " + sender + b"\r\n\r\nbody")


def test_a_long_message_id_is_hashed_to_fit() -> None:
    long_id = "<" + "x" * 200 + "@example.com>"
    mail = parse(citizen_mail("x", message_id=long_id))
    assert mail.message_id == long_id
    assert mail.external_id.startswith("sha256:")


def test_thread_subjects_and_tags() -> None:
    assert reply_subject("Re: 回复：Re: 路灯 [工单 2026120500012]", "2026120500012") == (
        "Re: 路灯 [工单 2026120500012]"
    )
    assert reply_subject("", None) == "Re: 您的来信"
    assert tagged_number("回复: 问题 [工单 20261205-00012]") == "2026120500012"
    assert tagged_number("[工单：2026120500012] x") == "2026120500012"
    assert tagged_number("工单 2026120500012") is None
    ours = message_id(conversation_id="a" * 32, message_id=7, domain="city.cn")
    assert ours == f"<hotline.{'a' * 32}.7@city.cn>"


def test_folder_names_are_modified_utf7() -> None:
    assert folder_name("INBOX") == '"INBOX"'
    assert folder_name("台北") == '"&U,BTFw-"'  # RFC 3501's example
    assert folder_name("已处理") == '"&XfJZBHQG-"'
    assert folder_name('A&B "x"') == '"A&-B \\"x\\""'
