"""Export a snapshot folder from the window: the files of ``slipscope headless --export`` plus PNGs.

Two halves, so the GUI thread never waits on the disk:
- :class:`ExportJob` is built in the GUI thread (Qt paints only there) once the window shows
  the exported snapshot: the images of the window and of each plot, each with a title strip
  naming the instrument, the book time, the snapshot (sequence number, book version) and
  SYNTHETIC when the feed is, and the same facts as PNG text chunks; the immutable snapshot;
  a copy of the buffered decision rows up to that snapshot.
- :meth:`ExportJob.write` runs on any thread and makes one call to
  :func:`core.export.export_snapshot`, the same writer as the headless export: the folder is
  assembled under a temporary name and renamed into place, so a failed write (no space, no
  permission) leaves nothing half-written and touches nothing the app holds. It raises
  :class:`core.export.ExportError` with a one-line reason for the window to show.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

from app import __version__
from core.decision_series import DecisionRows
from core.export import ExportError, export_snapshot, identity
from core.snapshot import Snapshot

TITLE_BG = QColor("#0d1117")
TITLE_FG = QColor("#e6edf3")
SYNTHETIC_FG = QColor("#d2a8ff")
TITLE_PT = 10.0  # title strip font size at a device pixel ratio of 1


def title_text(snap: Snapshot, what: str) -> tuple[str, str]:
    """(title, "SYNTHETIC" or ""): what one exported image shows and which snapshot it is."""
    ident = identity(snap)
    when = ident["book_time_utc"] or "book time unknown"
    text = (f"{what} · {ident['instrument']} · {when} · seq {ident['seq']} · "
            f"book v{ident['book_version']}")
    return text, "SYNTHETIC" if ident["synthetic"] else ""


def titled(image: QImage, snap: Snapshot, what: str, scale: float = 1.0) -> QImage:
    """``image`` under a title strip (instrument, book time, seq, book version, SYNTHETIC),
    with the same facts as PNG text chunks (``slipscope.seq``, ``slipscope.book_version``...)."""
    text, synthetic = title_text(snap, what)
    font = QFont()
    font.setPointSizeF(TITLE_PT * scale)
    strip = int(round(24 * scale))
    out = QImage(image.width(), image.height() + strip, QImage.Format.Format_ARGB32)
    out.fill(TITLE_BG)
    p = QPainter(out)
    try:
        p.drawImage(0, strip, image)
        p.setFont(font)
        pad = int(round(8 * scale))
        box = QRect(pad, 0, out.width() - 2 * pad, strip)
        if synthetic:
            p.setPen(SYNTHETIC_FG)
            p.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, synthetic)
            box.setRight(box.right() - p.fontMetrics().horizontalAdvance(synthetic) - pad)
        p.setPen(TITLE_FG)
        p.drawText(box, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                   p.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, box.width()))
    finally:
        p.end()
    out.setText("Title", text + (f" · {synthetic}" if synthetic else ""))
    for key, value in identity(snap).items():
        out.setText(f"slipscope.{key}", str(value))
    out.setText("Software", f"slipscope {__version__}")
    return out


@dataclass
class ExportJob:
    snapshot: Snapshot
    rows: np.ndarray  # decision rows up to the snapshot, as core.decision_series.COLUMNS (a copy)
    decisions: DecisionRows  # decodes the rows' text columns
    images: dict[str, QImage] = field(default_factory=dict)  # file stem -> image (already titled)
    gui: dict[str, Any] = field(default_factory=dict)  # GUI-side figures, in snapshot.json "extras"

    def write(self, root: Path) -> Path:
        """Write the whole folder under ``root``; returns its path. Raises ExportError."""
        snap = dataclasses.replace(self.snapshot, extras={**self.snapshot.extras, "gui": self.gui})
        columns = self.decisions.columns(self.rows)
        pngs = {f"{stem}.png": _png_writer(image) for stem, image in self.images.items()}
        notes = {f"{stem}.png": {"width": image.width(), "height": image.height()}
                 for stem, image in self.images.items()}
        return export_snapshot(snap, root, columns, extra_files=pngs, version=__version__, notes=notes)


def _png_writer(image: QImage):
    def write(path: Path) -> None:
        if not image.save(str(path), "PNG"):
            raise OSError(f"could not encode or write the PNG {path.name}")
    return write


__all__ = ["ExportError", "ExportJob", "titled", "title_text"]
