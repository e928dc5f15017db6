"""New mails become tickets with an acknowledgement by mail; replies to ours join their ticket.

A real IMAP server (pymap) holds the mailbox, a real SMTP server (aiosmtpd) receives what the
push outbox sends, and the database is SQLite and PostgreSQL in turn.
"""

from __future__ import annotations

import base64
import re
from email import policy
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import select

from hotline.storage.files import AttachmentStore
from hotline.storage.models import ContactKind, ContactPoint, Message, TicketEvent
from tests.channels.email_desk import MailDesk
from tests.channels.mail_servers import OUR_ADDRESS, citizen_mail, text_of

OUR_ID = re.compile(r"^<hotline\.[0-9a-f]{32}\.\d+@city\.example\.cn>$")


async def messages(desk: MailDesk) -> list[Message]:
    async with desk.services.database.read() as session:
        return list((await session.execute(select(Message).order_by(Message.id))).scalars())


async def history(desk: MailDesk, number: str) -> list[TicketEvent]:
    [ticket] = [t for t in await desk.tickets() if t.number == number]
    async with desk.services.database.read() as session:
        rows = await session.execute(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        )
        return list(rows.scalars())


async def test_a_mail_becomes_a_ticket_and_its_sender_gets_the_number(desk: MailDesk) -> None:
    mail = citizen_mail(
        "望江路18号门口的路灯一直不亮，晚上很危险。我的电话13800138000。",
        message_id="<first-mail@example.com>",
    )
    desk.folders.deliver(mail)
    report = await desk.poll()
    assert (report.fetched, report.created) == (1, 1)
    [ticket] = await desk.tickets()
    assert (ticket.channel, ticket.title, ticket.contact_phone, ticket.contact_name) == (
        "email", "小区路灯坏了", "+8613800138000", "张三",
    )  # fmt: skip
    assert "路灯一直不亮" in ticket.description
    # Handled: moved to the processed folder, seen; nothing left unseen in the inbox.
    assert desk.folders.count() == 0
    [flags] = desk.folders.flags(desk.folders.config()["processed"])
    assert "\\Seen" in flags
    # The acknowledgement was queued with the ticket and goes out by SMTP, threaded.
    assert desk.smtp.mails == []
    assert await desk.send() == 1
    [(mail_from, rcpt_tos, ack)] = desk.smtp.mails
    assert (mail_from, rcpt_tos) == (OUR_ADDRESS, ["zhangsan@example.com"])
    assert ack["Subject"] == f"Re: 小区路灯坏了 [工单 {ticket.number}]"
    assert ack["In-Reply-To"] == "<first-mail@example.com>"
    assert ack["References"] == "<first-mail@example.com>"
    assert OUR_ID.match(ack["Message-ID"])
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["From"].addresses[0].addr_spec == OUR_ADDRESS
    assert ack.get_content_charset() == "utf-8"
    assert ticket.number in text_of(ack)
    async with desk.services.database.read() as session:
        contact = (await session.execute(select(ContactPoint))).scalars().all()
    assert {(c.kind, c.value) for c in contact} == {(ContactKind.EMAIL, "zhangsan@example.com")}
    assert await desk.send() == 0  # sent once


async def test_a_gbk_mail_is_read(desk: MailDesk) -> None:
    subject = base64.b64encode("关于朱镕基路噪音扰民".encode("gbk")).decode()
    body = "每天夜里十二点以后还有施工噪音，严重影响休息。".encode("gbk")
    raw = (
        b"From: =?GB2312?B?" + base64.b64encode("李四".encode("gbk")) + b"?= <LiSi@Example.CN>\r\n"
        b"To: " + OUR_ADDRESS.encode() + b"\r\n"
        b"Subject: =?gb2312?B?" + subject.encode() + b"?=\r\n"
        b"Message-ID: <gbk-1@example.cn>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    )  # 镕 is in GBK, not in GB2312: the label lies, as mail clients' labels do
    desk.folders.deliver(raw)
    assert (await desk.poll()).created == 1
    [ticket] = await desk.tickets()
    assert ticket.title == "关于朱镕基路噪音扰民"
    assert ticket.contact_name == "李四"
    assert ticket.contact_email == "lisi@example.cn"  # the address the letter is answered at
    assert "施工噪音" in ticket.description
    await desk.send()
    [ack] = desk.smtp.messages
    assert ack["To"] == "lisi@example.cn"
    assert ack["Subject"] == f"Re: 关于朱镕基路噪音扰民 [工单 {ticket.number}]"


async def test_an_html_only_mail_is_read_as_text(desk: MailDesk) -> None:
    mail = citizen_mail("", subject="垃圾清运")
    mail.set_content(
        "<html><head><style>p{color:red}</style></head><body><p>幸福小区的垃圾三天没人清运了，"
        "</p><p>气味很大。<br>请尽快处理</p><script>track()</script></body></html>",
        subtype="html",
    )
    desk.folders.deliver(mail)
    assert (await desk.poll()).created == 1
    [ticket] = await desk.tickets()
    assert ticket.description == "幸福小区的垃圾三天没人清运了，\n\n气味很大。\n请尽快处理"


async def test_attachments_are_stored_within_the_letter_limits(
    desk: MailDesk, tmp_path: Path
) -> None:
    mail = citizen_mail("路面塌陷，见照片。")
    photo = b"\xff\xd8\xff\xe0" + b"jpeg" * 100
    mail.add_attachment(photo, maintype="image", subtype="jpeg", filename="现场照片.jpg")
    mail.add_attachment(b"PK\x03\x04", maintype="application", subtype="zip", filename="a.zip")
    desk.folders.deliver(mail)
    assert (await desk.poll()).created == 1
    inbound = [m for m in await messages(desk) if m.direction == "in"]
    [stored] = inbound[0].attachments
    assert (stored["filename"], stored["content_type"], stored["size"]) == (
        "现场照片.jpg", "image/jpeg", len(photo),
    )  # fmt: skip
    store = AttachmentStore(tmp_path / "data" / "attachments")
    assert store.path_for(stored["sha256"]).read_bytes() == photo
    [ticket] = await desk.tickets()
    assert "【未接收的附件】a.zip（类型 application/zip 不受理）" in ticket.description


async def test_a_reply_to_our_mail_joins_the_ticket(desk: MailDesk) -> None:
    desk.folders.deliver(citizen_mail("解放路井盖丢失。", message_id="<q1@example.com>"))
    await desk.poll()
    await desk.send()
    [ack] = desk.smtp.messages
    reply = citizen_mail(
        "补充一下：井盖在解放路和人民路路口东侧。\n\n"
        "------------------ 原始邮件 ------------------\n发件人: 12345\n" + text_of(ack),
        subject=f"回复：{ack['Subject']}",
        message_id="<q2@example.com>",
        In_Reply_To=ack["Message-ID"],
        References=f"<q1@example.com> {ack['Message-ID']}",
    )
    reply.add_attachment(b"\x89PNG" + b"x" * 50, maintype="image", subtype="png", filename="b.png")
    desk.folders.deliver(reply)
    report = await desk.poll()
    assert (report.created, report.supplemented) == (0, 1)
    [ticket] = await desk.tickets()
    inbound = [m for m in await messages(desk) if m.direction == "in"]
    assert [m.conversation_id for m in inbound] == [ticket.conversation_id] * 2
    assert inbound[1].text == f"{reply['Subject']}\n补充一下：井盖在解放路和人民路路口东侧。"
    assert (inbound[1].ticket_id, len(inbound[1].attachments)) == (ticket.id, 1)
    [line] = [e for e in await history(desk, ticket.number) if e.action == "supplemented"]
    assert line.note is not None
    assert line.note.startswith("补充材料：")
    assert "（附件 1 个）" in line.note
    assert await desk.send() == 0  # a supplement is not answered (no loop with a robot)
    # The same reply seen again (a crash before it was marked) is not added twice.
    desk.folders.deliver(reply)
    assert (await desk.poll()).repeated == 1
    assert len([m for m in await messages(desk) if m.direction == "in"]) == 2


async def test_a_mail_is_answered_at_its_reply_to_and_the_replies_join_its_ticket(
    desk: MailDesk,
) -> None:
    work = "张三 <zhangsan@corp.example.cn>"
    home = "zhangsan.home@example.com"
    desk.folders.deliver(citizen_mail("单位信箱发的信，请回复到家里。", sender=work, Reply_To=home))
    await desk.poll()
    assert await desk.send() == 1
    [(_, rcpt_tos, ack)] = desk.smtp.mails
    assert (rcpt_tos, ack["To"]) == ([home], home)
    [ticket] = await desk.tickets()
    async with desk.services.database.read() as session:
        [contact] = (await session.execute(select(ContactPoint))).scalars().all()
    assert (contact.kind, contact.value) == (ContactKind.EMAIL, home)
    # from home, where we wrote; from work with the same Reply-To; from home asking for work
    replies = ((home, {}), (work, {"Reply_To": home}), (home, {"Reply_To": work}))
    for sender, headers in replies:
        desk.folders.deliver(
            citizen_mail(f"补充：{sender}", sender=sender, subject=f"Re: {ack['Subject']}",
                         In_Reply_To=ack["Message-ID"], **headers)
        )  # fmt: skip
    report = await desk.poll()
    assert (report.supplemented, report.created) == (3, 0)
    assert [t.id for t in await desk.tickets()] == [ticket.id]
    inbound = [m for m in await messages(desk) if m.direction == "in"]
    assert {m.conversation_id for m in inbound} == {ticket.conversation_id}


async def test_a_robots_reply_to_is_not_answered(desk: MailDesk) -> None:
    desk.folders.deliver(citizen_mail("网站表单转来的信。", Reply_To="no-reply@forms.example.cn"))
    await desk.poll()
    await desk.send()
    [(_, rcpt_tos, _)] = desk.smtp.mails
    assert rcpt_tos == ["zhangsan@example.com"]


async def test_the_subject_tag_finds_the_ticket_only_for_its_own_citizen(desk: MailDesk) -> None:
    desk.folders.deliver(citizen_mail("公园长椅坏了。"))
    await desk.poll()
    [ticket] = await desk.tickets()
    tagged = f"再补充 [工单 {ticket.number}]"
    desk.folders.deliver(citizen_mail("长椅在东门。", subject=tagged))
    desk.folders.deliver(citizen_mail("我也要说。", subject=tagged, sender="other@example.org"))
    report = await desk.poll()
    assert (report.supplemented, report.created) == (1, 1)  # a stranger's mail is a new letter
    assert len(await desk.tickets()) == 2


async def test_an_emergency_mail_is_answered_with_the_referral_first(desk: MailDesk) -> None:
    desk.folders.deliver(citizen_mail("楼下着火了，浓烟很大，有人被困！", subject="着火了"))
    await desk.poll()
    [ticket] = await desk.tickets()
    assert (ticket.emergency, ticket.urgency) == ("119", "critical")
    await desk.send()
    [ack] = desk.smtp.messages
    text = text_of(ack)
    assert text.index("119") < text.index(ticket.number)


def test_a_mail_without_message_id_keeps_one_identity(folders: object) -> None:
    from hotline.channels.email.parse import parse_mail

    mail = citizen_mail("同一封信")
    del mail["Message-ID"]
    raw = mail.as_bytes(policy=policy.SMTP)
    relayed = b"Received: from relay2 by mx; Sat, 5 Dec 2026 10:00:00 +0800\r\n" + raw
    first, again = (parse_mail(r, own_address=OUR_ADDRESS) for r in (raw, relayed))
    assert first.message_id is None
    assert first.external_id == again.external_id
    assert first.external_id.startswith("sha256:")
    assert isinstance(mail, EmailMessage)


async def test_a_long_mail_is_cut_to_the_intakes_limit_and_kept_whole_as_a_file(
    desk: MailDesk, tmp_path: Path
) -> None:
    from hotline.channels.email.intake import CUT_NOTE, FULL_TEXT_NAME

    body = "小区物业长期不作为。" * 600  # 6,000 characters; the intake takes 4,000
    desk.folders.deliver(citizen_mail(body, sender=f"{'很长的名字' * 30} <long@example.com>"))
    assert (await desk.poll()).created == 1
    [ticket] = await desk.tickets()
    assert ticket.description.endswith(CUT_NOTE)
    assert ticket.contact_name == ("很长的名字" * 30)[:50]
    [inbound] = [m for m in await messages(desk) if m.direction == "in"]
    assert len(inbound.text) <= 4000
    [whole] = inbound.attachments
    assert whole["filename"] == FULL_TEXT_NAME
    store = AttachmentStore(tmp_path / "data" / "attachments")
    assert store.path_for(whole["sha256"]).read_text(encoding="utf-8").startswith(body)
