"""The mailbox over IMAP4rev1, with the standard library's ``imaplib`` run in a worker thread.

Why ``imaplib`` rather than ``aioimaplib``: it is the standard library's complete IMAP4rev1
client (IMAPS, STARTTLS, UID commands, MOVE, UIDPLUS's UID EXPUNGE), maintained with Python and
with no dependency to add; a poll makes a handful of round trips, each one run with
``asyncio.to_thread`` under the configured socket timeout, so the event loop never waits on the
network. One connection per poll, used by one coroutine at a time (imaplib is not thread-safe;
its calls are awaited one after another, never run side by side).

Bodies are fetched with ``BODY.PEEK[]``, which leaves ``\\Seen`` alone: a mail is marked only
once the intake has committed it (:meth:`Mailbox.settle`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import imaplib
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hotline.channels.email.config import FoldersConfig, ImapConfig
from hotline.errors import ChannelError
from hotline.tls import client_context, untrusted

_UID = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class MailboxError(ChannelError):
    """The IMAP server is unreachable, refused the login or refused a command."""

    code = "mailbox_unavailable"


class MailboxUntrusted(MailboxError):
    """The IMAP server's TLS certificate did not verify (nothing was sent to it)."""

    code = "mailbox_certificate_untrusted"


@dataclass(frozen=True)
class Envelope:
    uid: int
    size: int


def folder_name(name: str) -> str:
    """``name`` as an IMAP argument: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    encoded: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            utf7 = "".join(pending).encode("utf-16-be")
            chunk = base64.b64encode(utf7).decode("ascii").rstrip("=").replace("/", ",")
            encoded.append(f"&{chunk}-")
            pending.clear()

    for ch in name:
        if " " <= ch <= "~":
            flush()
            encoded.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    text = "".join(encoded).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


class Mailbox:
    """One logged-in connection with the inbox selected; ``async with Mailbox(...)``."""

    def __init__(self, imap: ImapConfig, folders: FoldersConfig) -> None:
        self._imap = imap
        self._folders = folders
        self._conn: imaplib.IMAP4 | None = None
        self._capabilities: frozenset[str] = frozenset()

    async def __aenter__(self) -> Mailbox:
        self._conn = await self._run(self._connect)
        try:
            await self._run(self._prepare)
        except BaseException:
            await self.close()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.to_thread(conn.logout)  # logout always closes the socket
            except (imaplib.IMAP4.error, OSError):
                with contextlib.suppress(OSError):
                    await asyncio.to_thread(conn.shutdown)

    async def unseen(self, limit: int) -> list[Envelope]:
        """The oldest ``limit`` unseen mails of the inbox, with their sizes."""
        data = await self._command("UID", "SEARCH", None, "UNSEEN UNDELETED")
        uids = sorted(int(u) for u in b" ".join(d for d in data if d).split())[:limit]
        if not uids:
            return []
        found = await self._command("UID", "FETCH", ",".join(map(str, uids)), "(RFC822.SIZE)")
        sizes: dict[int, int] = {}
        for line in found:
            head = line[0] if isinstance(line, tuple) else line
            uid, size = _UID.search(head or b""), _SIZE.search(head or b"")
            if uid and size:
                sizes[int(uid.group(1))] = int(size.group(1))
        return [Envelope(uid, sizes[uid]) for uid in uids if uid in sizes]

    async def fetch(self, uid: int, *, header_only: bool = False) -> bytes | None:
        """The mail's bytes (or only its header block), without marking it seen; None if gone."""
        item = "BODY.PEEK[HEADER]" if header_only else "BODY.PEEK[]"
        for part in await self._command("UID", "FETCH", str(uid), f"({item})"):
            if isinstance(part, tuple) and b"BODY[" in part[0]:
                return bytes(part[1])
        return None

    async def settle(self, uid: int, folder: str, *, flag: bool = False) -> None:
        """Mark the mail ``\\Seen`` (and ``\\Flagged``), then move it to ``folder`` if set."""
        flags = r"(\Seen \Flagged)" if flag else r"(\Seen)"
        await self._command("UID", "STORE", str(uid), "+FLAGS.SILENT", flags)
        if not folder:
            return
        target = folder_name(folder)
        if "MOVE" in self._capabilities:
            await self._command("UID", "MOVE", str(uid), target)
            return
        await self._command("UID", "COPY", str(uid), target)
        await self._command("UID", "STORE", str(uid), "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self._capabilities:  # a plain EXPUNGE would also purge others' deletions
            await self._command("UID", "EXPUNGE", str(uid))

    # -- in the worker thread -----------------------------------------------------------------

    def _connect(self) -> imaplib.IMAP4:
        imap = self._imap
        if imap.security == "tls":
            return imaplib.IMAP4_SSL(
                imap.host, imap.port, ssl_context=self._tls(), timeout=imap.timeout_seconds
            )
        conn = imaplib.IMAP4(imap.host, imap.port, timeout=imap.timeout_seconds)
        if imap.security == "starttls":
            try:
                conn.starttls(self._tls())
            except BaseException:
                with contextlib.suppress(OSError):  # a failed handshake may have closed it
                    conn.shutdown()
                raise
        return conn

    def _tls(self) -> ssl.SSLContext:
        return client_context(self._imap.ca_file)

    def _prepare(self) -> None:
        conn = self._require()
        try:
            _ok(conn.login(self._imap.username, self._imap.password), "LOGIN")
        except imaplib.IMAP4.abort:
            raise  # the connection broke: an outage like any other
        except imaplib.IMAP4.error as e:  # wrong password, locked account: say which
            raise MailboxError(f"IMAP login to {self._imap.host} refused: {e}") from e
        typ, data = conn.capability()
        _ok((typ, data), "CAPABILITY")
        self._capabilities = frozenset(b" ".join(data).decode("ascii", "replace").upper().split())
        folders = self._folders
        for folder in {folders.processed, folders.ignored, folders.rejected} - {""}:
            quoted = folder_name(folder)
            _, listed = conn.list('""', quoted)
            if not any(listed):
                _ok(conn.create(quoted), f"CREATE {folder}")
        _ok(conn.select(folder_name(folders.inbox)), f"SELECT {folders.inbox}")

    def _require(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise MailboxError("the mailbox is not connected")
        return self._conn

    async def _command(self, name: str, *args: Any) -> list[Any]:
        conn = self._require()
        method = getattr(conn, name.lower())
        typ, data = await self._run(method, *args)
        return _ok((typ, data), f"{name} {args[0] if args else ''}".strip())

    async def _run(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(call, *args)
        except MailboxError:
            raise
        except (imaplib.IMAP4.error, OSError, EOFError) as e:  # OSError covers TLS and timeouts
            where = f"IMAP {self._imap.host}:{self._imap.port}"
            if (reason := untrusted(e)) is not None:
                raise MailboxUntrusted(
                    f"{where}: the server's TLS certificate is not trusted ({reason}); give the "
                    "CA that signed it as channels.email.imap.ca_file"
                ) from e
            raise MailboxError(f"{where}: {e!r}") from e


def _ok(result: tuple[str, list[Any]], what: str) -> list[Any]:
    typ, data = result
    if typ != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
        raise MailboxError(f"IMAP {what} refused: {typ} {detail}")
    return data
