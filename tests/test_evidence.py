"""Evidence (证实性材料) from the chat: through the real console, WeCom (智能机器人 encrypted URL,
自建应用 media/get) and Telegram (getFile + download) code paths into the real core and storage;
hostile uploads; duplicates; withdraw/rename; a crash between file and row."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import re
import time
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.app import App, create_app
from bot.channels.console import ConsoleChannel
from bot.channels.telegram import TelegramChannel
from bot.config import Config
from bot.serve import build_channels, plan_channels, stop_channels, web_app
from handlers.core import Attachment, Incoming
from handlers.evidence_files import PDF as PDF_TYPE
from handlers.evidence_files import neutral_name
from handlers.store import Actor, EvidenceFile
from knowledge.model import KnowledgeBase
from knowledge.qa import Librarian
from tests import wecom_vectors as v
from tests.fake_telegram import TOKEN, FakeBotApi, document
from tests.fake_wecom import FakeWeCom
from tests.fakes import eventually

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
BOT_TOKEN = "botToken123"


def files_in(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


async def rows(app: App, **kw: Any) -> list[EvidenceFile]:
    return await app.storage.evidence(app.config.plan, **kw)


def console(app: App, user: str = "王") -> tuple[ConsoleChannel, io.StringIO]:
    out = io.StringIO()
    return ConsoleChannel(app.handler, user=user, out=out), out


def say(app: App, text: str = "", attachment: Attachment | None = None, user: str = "王") -> Incoming:
    return Incoming("console", f"console-{user}", "private", user, user, text, attachment=attachment)


@pytest.fixture
async def small(tmp_path: Path, kb: KnowledgeBase, librarian: Librarian) -> AsyncIterator[App]:
    """The real app with a 1 MB evidence limit."""
    config = Config.from_mapping({"plan": "pingyin", "db_path": str(tmp_path / "db" / "q.db"), "evidence_max_mb": 1})
    application = await create_app(config, kb=kb, librarian=librarian)
    yield application
    await application.close()


# --- the console: intake, listing, duplicates, withdraw, rename --------------------------------


async def test_console_upload_with_caption_is_stored_content_addressed(app: App, tmp_path: Path) -> None:
    pdf = tmp_path / "标准文本封面.pdf"
    pdf.write_bytes(PDF)
    chat, out = console(app)
    await chat.send("/bind 市场监管局")
    await chat.send(f"/upload {pdf} 第14项")
    (row,) = await rows(app)
    assert (row.indicator, row.department, row.name, row.media_type) == ("14", "市场监管局", "标准文本封面.pdf", "application/pdf")
    stored = app.storage.evidence_path(row.sha256)
    assert stored.read_bytes() == PDF and stored.parent.parent.parent.name == "evidence"
    assert f"编号 {row.id}" in out.getvalue() and "第14项" in out.getvalue()

    await chat.send(f"/upload {pdf} 标准制修订")  # the same file for the same indicator
    assert "已经收过" in out.getvalue() and len(await rows(app)) == 1

    await chat.send("/evidence")
    assert f"[{row.id}] 标准文本封面.pdf" in out.getvalue()
    await chat.send(f"重命名材料 {row.id} 国家标准发布公告")
    assert (await rows(app))[0].name == "国家标准发布公告.pdf"
    await chat.send(f"删除材料 {row.id}")
    assert await rows(app) == [] and len(await rows(app, include_withdrawn=True)) == 1
    assert stored.exists()  # withdrawn, not erased


async def test_no_caption_proposes_own_indicators_and_a_number_assigns(app: App, tmp_path: Path) -> None:
    photo = tmp_path / "现场.png"
    photo.write_bytes(PNG)
    chat, out = console(app)
    await chat.send("/bind 市场监管局")
    replies = await chat.send(f"/upload {photo}")
    assert "属于哪一项" in replies[0].text and replies[0].choices
    own = {i.id for i in app.handler.services.indicators("市场监管局")}
    proposed = [c.payload.rsplit(":", 1)[1] for c in replies[0].choices]
    assert proposed[0] in own
    (row,) = await rows(app)
    assert row.indicator == ""  # stored and numbered before the question
    await chat.send("第15项")  # a following message names it
    assert (await rows(app))[0].indicator == "15"


async def test_during_assessment_the_file_goes_to_the_current_question(app: App, tmp_path: Path) -> None:
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(PDF)
    chat, out = console(app)
    await chat.send("/bind 市场监管局")
    await chat.send("自评")
    questions = app.handler.services.questions("市场监管局")
    await chat.send(f"/upload {pdf}")
    assert (await rows(app))[0].indicator == questions[0].indicator.id


async def test_unbound_sender_keeps_the_file_and_binding_claims_it(app: App, tmp_path: Path) -> None:
    pdf = tmp_path / "b.pdf"
    pdf.write_bytes(PDF)
    chat, out = console(app)
    await chat.send(f"/upload {pdf} 第14项")
    assert "/bind" in out.getvalue()
    assert (await rows(app))[0].department == ""
    await chat.send("/bind 市场监管局")
    await chat.send("/evidence")
    assert (await rows(app))[0].department == "市场监管局"


async def test_what_an_indicator_needs_and_what_is_missing(app: App) -> None:
    chat, out = console(app)
    await chat.send("/bind 市场监管局")
    (reply,) = await chat.send("第14项要什么材料")
    indicator = app.kb.framework("shandong").indicators["14"]
    assert indicator.editorial.evidence[0][:10] in reply.text
    assert "本部门还没有交这一项的材料" in reply.text


async def test_another_department_cannot_withdraw(app: App, tmp_path: Path) -> None:
    pdf = tmp_path / "c.pdf"
    pdf.write_bytes(PDF)
    mine, _ = console(app, "王")
    other, out = console(app, "李")
    await mine.send("/bind 市场监管局")
    await mine.send(f"/upload {pdf} 第14项")
    await other.send("/bind 统计局")
    await other.send(f"删除材料 {(await rows(app))[0].id}")
    assert "不是本部门的" in out.getvalue() and len(await rows(app)) == 1


async def test_progress_counts_evidence(app: App, tmp_path: Path) -> None:
    pdf = tmp_path / "d.pdf"
    pdf.write_bytes(PDF)
    chat, _ = console(app)
    await chat.send("/bind 市场监管局")
    await chat.send(f"/upload {pdf} 第14项")
    from handlers.office import progress_text

    text = await progress_text(app.handler.services)
    assert "证实性材料：1份，覆盖1/" in text
    assert re.search(r"市场监管局：.*材料1份（1项）", text)


# --- hostile uploads --------------------------------------------------------------------------


async def test_renamed_executable_is_refused_and_nothing_stored(app: App, tmp_path: Path) -> None:
    fake = tmp_path / "通知.pdf"
    fake.write_bytes(EXE)
    (reply,) = await app.handler.handle(say(app, "第14项", Attachment("通知.pdf", len(EXE), path=fake)))
    assert "可执行程序" in reply.text and "\n" not in reply.text
    assert await rows(app) == [] and files_in(app.storage.evidence_root()) == []


async def test_msi_installer_is_ole2_but_refused(app: App, tmp_path: Path) -> None:
    msi = tmp_path / "x.doc"
    msi.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000)
    (reply,) = await app.handler.handle(say(app, "", Attachment("x.doc", path=msi)))
    assert "不是文档或表格" in reply.text and await rows(app) == []


def test_path_parts_and_controls_are_neutralised() -> None:
    assert neutral_name("../../x.pdf", PDF_TYPE) == "x.pdf"
    assert neutral_name("..\\..\\windows\\x.pdf", PDF_TYPE) == "x.pdf"
    assert neutral_name("a\x00b\x07c\u202e.pdf", PDF_TYPE) == "abc.pdf"
    assert neutral_name("..", PDF_TYPE) == "材料.pdf"
    assert neutral_name("photo.jpg", PDF_TYPE) == "photo.jpg.pdf"  # the content decides the extension
    long = neutral_name("长" * 500 + ".pdf", PDF_TYPE)
    assert len(long) == 100 and long.endswith(".pdf")


async def test_dotdot_name_through_the_core(app: App, tmp_path: Path) -> None:
    pdf = tmp_path / "p.pdf"
    pdf.write_bytes(PDF)
    await app.handler.handle(say(app, "第14项", Attachment("../../x.pdf", path=pdf)))
    (row,) = await rows(app)
    assert row.name == "x.pdf"
    assert files_in(app.storage.evidence_root()) == [app.storage.evidence_path(row.sha256)]


async def test_oversize_is_stopped_while_streaming(small: App) -> None:
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        chunk = b"%PDF-" + b"0" * (64 * 1024 - 5)
        while True:
            sent += len(chunk)
            yield chunk

    (reply,) = await small.handler.handle(say(small, "第14项", Attachment("big.pdf", None, fetch=endless)))
    assert "超过 1 MB" in reply.text
    assert sent <= 1024 * 1024 + 64 * 1024  # stopped at the limit, never read whole
    assert files_in(small.storage.evidence_root()) == [] and await rows(small) == []


async def test_declared_oversize_is_refused_before_download(small: App) -> None:
    async def never() -> AsyncIterator[bytes]:
        raise AssertionError("downloaded")
        yield b""

    (reply,) = await small.handler.handle(say(small, "", Attachment("big.pdf", 50 * 1024 * 1024, fetch=never)))
    assert "超过 1 MB" in reply.text


async def test_zip_bomb_is_stored_as_is_and_never_unpacked(small: App, tmp_path: Path) -> None:
    bomb = tmp_path / "材料汇总.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        for n in range(4):
            archive.writestr(f"扫描件/{n}.pdf", b"\x00" * (64 * 1024 * 1024))  # 256 MB unpacked
    size = bomb.stat().st_size
    assert size < 1024 * 1024  # the limit applies to what is received, not what it unpacks to
    (reply,) = await small.handler.handle(say(small, "第14项", Attachment(bomb.name, size, path=bomb)))
    (row,) = await rows(small)
    assert row.media_type == "application/zip" and row.size == size and "压缩包" in reply.text
    assert files_in(small.storage.evidence_root()) == [small.storage.evidence_path(row.sha256)]

    big = tmp_path / "big.zip"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("raw.bin", b"\x01" * (2 * 1024 * 1024))
    (reply,) = await small.handler.handle(say(small, "第14项", Attachment(big.name, path=big)))
    assert "超过 1 MB" in reply.text and len(await rows(small)) == 1


async def test_truncated_download_is_refused_and_leaves_nothing(app: App) -> None:
    async def half() -> AsyncIterator[bytes]:
        yield PDF[:10]

    (reply,) = await app.handler.handle(say(app, "第14项", Attachment("t.pdf", len(PDF), fetch=half)))
    assert "没有收全" in reply.text
    assert files_in(app.storage.evidence_root()) == [] and await rows(app) == []


# --- a crash between the file and its row -------------------------------------------------------


async def test_crash_between_file_and_row_is_listed_on_next_start(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian, caplog: pytest.LogCaptureFixture
) -> None:
    config = Config.from_mapping({"plan": "pingyin", "db_path": str(tmp_path / "q.db"), "admins": "console:主任"})
    first = await create_app(config, kb=kb, librarian=librarian)
    pdf = tmp_path / "e.pdf"
    pdf.write_bytes(PDF)

    async def crash(*args: object, **kw: object) -> EvidenceFile:
        raise RuntimeError("power cut")

    first.storage.add_evidence = crash  # type: ignore[method-assign]
    with caplog.at_level(logging.CRITICAL, logger="handlers.dispatch"):
        await first.handler.handle(say(first, "第14项", Attachment("e.pdf", path=pdf)))
    await first.close()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="handlers.evidence"):
        second = await create_app(config, kb=kb, librarian=librarian)
    try:
        assert any("未登记材料" in r.getMessage() for r in caplog.records)
        (reply,) = await second.handler.handle(say(second, "/evidence", user="主任"))
        assert "未登记材料（1份" in reply.text
    finally:
        await second.close()


# --- WeCom -------------------------------------------------------------------------------------


def encrypt_file(data: bytes, encoding_aes_key: str) -> bytes:
    """What WeCom serves at a 智能机器人 file URL: AES-256-CBC, IV = key[:16], PKCS#7 to 32 bytes."""
    key = base64.b64decode(encoding_aes_key + "=")
    padder = padding.PKCS7(256).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def sealed(plain: dict[str, Any]) -> tuple[dict[str, str], str]:
    """The signed query and ciphertext WeCom would send (made by wechatpy)."""
    stamp, nonce = str(int(time.time())), "1372623149"
    xml = WeChatCrypto(BOT_TOKEN, v.V1_KEY, "").encrypt_message(json.dumps(plain, ensure_ascii=False), nonce, stamp)
    fields = dict(re.findall(r"<(\w+)>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</\1>", xml))
    return {"msg_signature": fields["MsgSignature"], "timestamp": stamp, "nonce": nonce}, fields["Encrypt"]


@pytest.fixture
async def wecom(app: App) -> AsyncIterator[tuple[TestClient[Any, Any], FakeWeCom, str]]:
    api = FakeWeCom()
    base = await api.start()
    config = Config.from_mapping({
        "wecom_bot_token": BOT_TOKEN, "wecom_bot_aes_key": v.V1_KEY, "wecom_corp_id": v.V1_CORP,
        "wecom_agent_id": "1000002", "wecom_secret": "app-secret", "wecom_token": v.V1_TOKEN,
        "wecom_aes_key": v.V1_KEY, "wecom_api_base": base, "wecom_reply_budget_ms": 30000,
    })
    channels = build_channels(config, app.handler, plan_channels(config, wecom=True))
    client: TestClient[Any, Any] = TestClient(TestServer(web_app(channels), host="127.0.0.1"))
    await client.start_server()
    yield client, api, base
    await client.close()
    await stop_channels(channels)
    await api.close()


def bot_file(base: str, name: str, msgid: str, kind: str = "file") -> dict[str, Any]:
    return {
        "msgid": msgid, "aibotid": "AIBOTID", "chattype": "single", "from": {"userid": "wang"},
        "response_url": f"{base}/cgi-bin/aibot/response?response_code=RC", "msgtype": kind,
        kind: {"url": f"{base}/files/{name}"},
    }


async def test_wecom_bot_file_url_is_downloaded_and_decrypted(app: App, wecom: Any) -> None:
    client, api, base = wecom
    await app.storage.bind(Actor("wecom_bot", "wang", "wang"), "pingyin", "市场监管局")
    api.files["f1"] = encrypt_file(PDF, v.V1_KEY)
    query, encrypted = sealed(bot_file(base, "f1", "M1"))
    answer = await client.post("/wecom/bot", params=query, json={"encrypt": encrypted})
    assert answer.status == 200
    await eventually(lambda: bool(api.called("/files/f1")))
    await _until_rows(app, 1)
    (row,) = await rows(app)
    assert app.storage.evidence_path(row.sha256).read_bytes() == PDF
    assert (row.channel, row.department, row.media_type) == ("wecom_bot", "市场监管局", "application/pdf")


async def test_wecom_bot_truncated_or_tampered_file_is_refused(app: App, wecom: Any) -> None:
    client, api, base = wecom
    api.files["cut"] = encrypt_file(PDF * 200, v.V1_KEY)
    api.truncate_files.add("cut")
    api.files["bad"] = encrypt_file(PDF, v.V1_KEY)[:-16] + b"\x00" * 16  # padding destroyed
    for n, name in enumerate(("cut", "bad")):
        query, encrypted = sealed(bot_file(base, name, f"T{n}"))
        await client.post("/wecom/bot", params=query, json={"encrypt": encrypted})
    await eventually(lambda: bool(api.called("/files/cut")) and bool(api.called("/files/bad")))
    for _ in range(20):
        await _settle()
    assert await rows(app) == []
    assert files_in(app.storage.evidence_root()) == []


async def test_wecom_app_image_by_media_id(app: App, wecom: Any) -> None:
    client, api, base = wecom
    api.files["MEDIA_X"] = PNG
    xml = (
        "<xml><ToUserName><![CDATA[corp]]></ToUserName><FromUserName><![CDATA[li]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://x]]></PicUrl>"
        "<MediaId><![CDATA[MEDIA_X]]></MediaId><MsgId>77</MsgId><AgentID>1000002</AgentID></xml>"
    )
    theirs = WeChatCrypto(v.V1_TOKEN, v.V1_KEY, v.V1_CORP)
    stamp, nonce = str(int(time.time())), "42"
    envelope = theirs.encrypt_message(xml, nonce, stamp)
    signature = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", envelope)
    assert signature is not None
    query = {"msg_signature": signature.group(1), "timestamp": stamp, "nonce": nonce}
    answer = await client.post("/wecom/app", params=query, data=envelope.encode())
    assert answer.status == 200
    await _until_rows(app, 1)
    (row,) = await rows(app)
    assert (row.channel, row.media_type, row.indicator) == ("wecom_app", "image/png", "")
    assert api.called("/cgi-bin/media/get")[0].query["media_id"] == "MEDIA_X"
    await eventually(lambda: any("属于哪一项" in json.dumps(c.body, ensure_ascii=False) for c in api.called("/cgi-bin/message/send")))


# --- Telegram ----------------------------------------------------------------------------------


@pytest.fixture
async def telegram(app: App) -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    base = await api.start()
    config = Config.from_mapping({"telegram_token": TOKEN, "telegram_base_url": base, "telegram_poll_timeout": 1})
    channel = TelegramChannel(config, app.handler)
    await channel.start()
    yield api
    await channel.stop()
    await api.close()


async def test_telegram_document_via_get_file(app: App, telegram: FakeBotApi) -> None:
    telegram.files["DOC1"] = PDF
    telegram.push(document("DOC1", "../../标准.pdf", len(PDF), caption="第14项"))
    await _until_rows(app, 1)
    (row,) = await rows(app)
    assert (row.channel, row.name, row.indicator) == ("telegram", "标准.pdf", "14")
    assert app.storage.evidence_path(row.sha256).read_bytes() == PDF
    assert telegram.sent("getFile") and telegram.sent("download")
    await eventually(lambda: any("已收下" in c.params.get("text", "") for c in telegram.sent()))


async def test_telegram_photo_and_truncated_download(app: App, telegram: FakeBotApi) -> None:
    telegram.files["PH1"] = PNG
    telegram.push(document("PH1", "", len(PNG), photo=True))
    await _until_rows(app, 1)
    assert (await rows(app))[0].media_type == "image/png"
    telegram.files["CUT"] = PDF * 100
    telegram.truncate_files.add("CUT")
    telegram.push(document("CUT", "cut.pdf", len(PDF) * 100, caption="第14项"))
    await eventually(lambda: any("未收下" in c.params.get("text", "") for c in telegram.sent()), timeout=15)
    assert len(await rows(app)) == 1 and not list(app.storage.evidence_spool().glob("*.part"))


# --- helpers -----------------------------------------------------------------------------------


async def _settle() -> None:
    await asyncio.sleep(0.05)


async def _until_rows(app: App, count: int) -> None:
    for _ in range(200):
        if len(await rows(app)) >= count:
            return
        await _settle()
    raise AssertionError(f"expected {count} evidence rows, got {len(await rows(app))}")


# --- types by content ---------------------------------------------------------------------------


def test_office_formats_made_by_other_libraries_are_recognised(tmp_path: Path) -> None:
    import docx
    import openpyxl

    from handlers.evidence_files import DOCX, HEIC, OFD, XLS, XLSX, ZIP, EvidenceRefused, detect

    word = tmp_path / "a.docx"
    document_ = docx.Document()
    document_.add_paragraph("标准发布公告")
    document_.save(str(word))
    sheet = tmp_path / "b.xlsx"
    book = openpyxl.Workbook()
    book.save(str(sheet))
    ofd = tmp_path / "c.ofd"
    with zipfile.ZipFile(ofd, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD/>")
    apk = tmp_path / "d.zip"
    with zipfile.ZipFile(apk, "w") as archive:
        archive.writestr("AndroidManifest.xml", "x")
        archive.writestr("classes.dex", "x")
    plain = tmp_path / "e.zip"
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("scan.pdf", PDF)
    heic = tmp_path / "f.heic"
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 32)
    et = tmp_path / "g.et"  # OLE2 whose directory names a Workbook stream (xls, WPS 表格)
    et.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 2000 + "Workbook".encode("utf-16-le") + b"\x00" * 100)
    assert [detect(p) for p in (word, sheet, ofd, plain, heic, et)] == [DOCX, XLSX, OFD, ZIP, HEIC, XLS]
    with pytest.raises(EvidenceRefused, match="应用程序"):
        detect(apk)


# --- the office: the export sheet and the package in chat ---------------------------------------


async def test_office_export_and_package_carry_the_evidence(
    tmp_path: Path, kb: KnowledgeBase, librarian: Librarian
) -> None:
    from openpyxl import load_workbook

    db = tmp_path / "db" / "q.db"
    config = Config.from_mapping({"plan": "pingyin", "db_path": str(db), "admins": "console:主任"})
    office = await create_app(config, kb=kb, librarian=librarian)
    try:
        pdf = tmp_path / "标准发布公告.pdf"
        pdf.write_bytes(PDF)
        await office.handler.handle(say(office, "/bind 市场监管局"))
        await office.handler.handle(say(office, "第14项", Attachment(pdf.name, path=pdf)))
        [stored] = await rows(office)

        (exported,) = await office.handler.handle(say(office, "/export", user="主任"))
        book = load_workbook(exported.files[0].path, read_only=True)
        sheet = list(book["证实性材料"].iter_rows(min_row=2, values_only=True))
        book.close()
        assert [(r[0], r[1], r[3], r[4], r[9]) for r in sheet] == [
            (stored.id, "14", "市场监管局", pdf.name, stored.sha256)
        ]

        before = [(r.id, r.status, r.name) for r in await rows(office, include_withdrawn=True)]
        replies = await office.handler.handle(say(office, "/package", user="主任"))
        [package] = [f.path for r in replies for f in r.files]
        with zipfile.ZipFile(package) as archive:
            names = archive.namelist()
            assert "申请表.docx" in names and "材料清单目录.xlsx" in names
            [packed] = [n for n in names if n.endswith(".pdf")]
            assert archive.read(packed) == PDF
        assert [(r.id, r.status, r.name) for r in await rows(office, include_withdrawn=True)] == before
        refused = await office.handler.handle(say(office, "/package"))
        assert "质量强县办（管理员）专用" in refused[0].text
    finally:
        await office.close()
