"""The verification key as it is shown, once, when a record is created: as text (to read
out, type, or keep in the deployment's approval pack) and as a QR code (segno), for
``audit verify --verify-key``. The key is written nowhere by the console."""

from __future__ import annotations

import io
from typing import TextIO

import segno

from console.storage.sealing import VerificationKey

HEADING = "VERIFICATION KEY of this record (shown once: keep it off this machine)"
ADVICE = (
    "Print or photograph it now and keep it with the approval pack, away from this "
    "computer. It is the only way to prove later that the audit trail was not rewritten "
    "(python -m console audit verify --verify-key KEY). Anyone who has it could check the "
    "record, and someone who also controls this machine could forge it: keep it as you "
    "would a safe's combination. The console does not keep a copy."
)


def qr_code(vk: VerificationKey) -> segno.QRCode:
    return segno.make(vk.text(), error="m")


def qr_png(vk: VerificationKey, scale: int = 5) -> bytes:
    out = io.BytesIO()
    qr_code(vk).save(out, kind="png", scale=scale, border=3)
    return out.getvalue()


def qr_text(vk: VerificationKey) -> str:
    """The QR code in text (two rows of modules a line), for a terminal."""
    out = io.StringIO()
    qr_code(vk).terminal(out=out, compact=True, border=2)
    return out.getvalue()


def announce(vk: VerificationKey, out: TextIO, qr: bool = True) -> None:
    """Show the key at a terminal: the heading, the key as text, the QR code, the advice."""
    rule = "=" * 78
    print(rule, file=out)
    print(HEADING, file=out)
    print(f"record {vk.record_id}", file=out)
    print("", file=out)
    print(f"    {vk.text()}", file=out)
    print(f"    ({vk.spaced()})", file=out)
    if qr:
        print("", file=out)
        print(qr_text(vk), file=out, end="")
    print("", file=out)
    print(ADVICE, file=out)
    print(rule, file=out)
