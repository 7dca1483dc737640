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
TITLE_PT = 9.0  # title strip font size at a scale (device pixel ratio) of 1


def title_lines(snap: Snapshot, what: str) -> tuple[str, str, str]:
    """(what · instrument, book time · seq · book version, "SYNTHETIC" or ""): the title of one
    exported image, which says what it shows and which snapshot it is."""
    ident = identity(snap)
    when = ident["book_time_utc"] or "book time unknown"
    return (f"{what} · {ident['instrument']}",
            f"{when} · seq {ident['seq']} · book v{ident['book_version']}",
            "SYNTHETIC" if ident["synthetic"] else "")


def titled(image: QImage, snap: Snapshot, what: str, scale: float = 1.0) -> QImage:
    """``image`` under a two-line title strip (what and instrument, SYNTHETIC on the right; book
    time, seq and book version below), with the same facts as PNG text chunks ("Title",
    ``slipscope.seq``, ``slipscope.book_version``...)."""
    head, ident_line, synthetic = title_lines(snap, what)
    font = QFont()
    font.setPointSizeF(TITLE_PT * scale)
    probe = QImage(1, 1, QImage.Format.Format_ARGB32)
    p = QPainter(probe)
    p.setFont(font)
    line = p.fontMetrics().height()
    p.end()
    pad = int(round(6 * scale))
    strip = 2 * line + 2 * pad
    out = QImage(image.width(), image.height() + strip, QImage.Format.Format_ARGB32)
    out.fill(TITLE_BG)
    p = QPainter(out)
    try:
        p.drawImage(0, strip, image)
        p.setFont(font)
        metrics = p.fontMetrics()
        width = out.width() - 2 * pad
        top = QRect(pad, pad, width, line)
        if synthetic:
            p.setPen(SYNTHETIC_FG)
            p.drawText(top, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, synthetic)
            top.setRight(top.right() - metrics.horizontalAdvance(synthetic) - pad)
        p.setPen(TITLE_FG)
        left = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        p.drawText(top, left, metrics.elidedText(head, Qt.TextElideMode.ElideRight, top.width()))
        p.drawText(QRect(pad, pad + line, width, line), left,
                   metrics.elidedText(ident_line, Qt.TextElideMode.ElideLeft, width))
    finally:
        p.end()
    out.setText("Title", " · ".join(t for t in (head, ident_line, synthetic) if t))
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


__all__ = ["ExportError", "ExportJob", "titled", "title_lines"]
