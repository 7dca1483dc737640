"""Export a snapshot folder from the window: the files of ``slipscope headless --export`` plus PNGs.

Two halves, so the GUI thread never waits on the disk:
- :class:`ExportJob` is built in the GUI thread (Qt paints only there): the images of the
  window and of each plot, the immutable snapshot on screen, a copy of the buffered series.
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
from PySide6.QtGui import QImage

from app import __version__
from core.export import ExportError, export_snapshot
from core.snapshot import Snapshot
from widgets.history import COLUMNS

#: timeseries.csv columns, in History's order (t is wall-clock Unix time)
TIMESERIES_NAMES = ("time_unix_s", "mid", "spread_bps", "best_bid", "best_ask", "realised_slippage_bps",
                    "predicted_slippage_bps", "predicted_q50_bps", "predicted_q95_bps", "net_cost_bps",
                    "exec_delay_s")
assert len(TIMESERIES_NAMES) == len(COLUMNS)


@dataclass
class ExportJob:
    snapshot: Snapshot
    timeseries: np.ndarray  # rows as widgets.history.COLUMNS (a copy)
    images: dict[str, QImage] = field(default_factory=dict)  # file stem -> image
    gui: dict[str, Any] = field(default_factory=dict)  # GUI-side figures, in snapshot.json "extras"

    def write(self, root: Path) -> Path:
        """Write the whole folder under ``root``; returns its path. Raises ExportError."""
        snap = dataclasses.replace(self.snapshot, extras={**self.snapshot.extras, "gui": self.gui})
        columns = {name: self.timeseries[:, i] for i, name in enumerate(TIMESERIES_NAMES)}
        pngs = {f"{stem}.png": _png_writer(image) for stem, image in self.images.items()}
        return export_snapshot(snap, root, columns, extra_files=pngs, version=__version__)


def _png_writer(image: QImage):
    def write(path: Path) -> None:
        if not image.save(str(path), "PNG"):
            raise OSError(f"could not encode or write the PNG {path.name}")
    return write


__all__ = ["ExportError", "ExportJob", "TIMESERIES_NAMES"]
