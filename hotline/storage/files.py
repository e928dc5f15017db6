"""Attachments stored by content hash under the data directory."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from hotline.intake.messages import Attachment


class AttachmentStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes, *, filename: str, content_type: str) -> Attachment:
        """Write ``data`` atomically (temp file + rename) and return its metadata."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path_for(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return Attachment(
            filename=filename, content_type=content_type, size=len(data), sha256=digest
        )
