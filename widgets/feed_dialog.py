"""The feed dialog: where the window's books come from, changed without restarting.

Three sources: the embedded synthetic server (any registered venue's protocol, instrument, rate,
seed), a remote URL (any venue, instrument, the websocket URL and, for a venue that takes a REST
depth snapshot (Binance), the REST URL), or a replay file (served by the embedded server; the
venue and instrument are the recording's). The instruments listed are the chosen venue's. The
dialog only collects the fields: ``check``
(the app's) turns them into a choice or raises ValueError whose message names the field; a
refusal is shown in red under the fields, the field gets the focus, and the dialog stays
open, so nothing changes until a feed that can be used is accepted (``chosen``).
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QPushButton, QVBoxLayout, QWidget,
)

from core.venues import DEFAULT_VENUE, get_venue, venue_names, venue_symbols
from widgets.inputs_panel import drawable, venue_label

SOURCES = (("Synthetic (embedded server)", "synthetic"), ("URL", "url"), ("Replay file", "replay"))
RECORDING_FILTER = "Recordings (*.jsonl.gz *.jsonl);;All files (*)"


class FeedDialog(QDialog):
    chosen = Signal(object)  # what ``check`` returned for the accepted fields

    def __init__(self, form: dict[str, Any] | None, check: Callable[[dict[str, Any]], Any],
                 parent: QWidget | None = None, note: str = "") -> None:
        """``form``: the fields to show (``FeedChoice.to_form``); ``note``: why the dialog was
        opened, shown above the fields (e.g. another exchange was picked on a URL feed)."""
        super().__init__(parent)
        self.setWindowTitle("Feed")
        self.setAccessibleName("Feed")
        self.setMinimumWidth(460)  # room for a whole URL
        self.check = check
        self.choice: Any = None
        self.source = self._combo("Source", SOURCES)
        self.venue = self._combo("Venue", tuple((venue_label(name), name) for name in venue_names()))
        self.instrument = QComboBox()
        self.instrument.setAccessibleName("Instrument")
        self.url = self._line("URL", "")
        self.rest_url = self._line("REST URL", "")
        self.rate = self._line("Rate", "updates per second")
        self.seed = self._line("Seed", "market seed")
        self.replay = self._line("Replay file", "a recording made by slipscope record")
        self.speed = self._line("Speed", "1 = as recorded")
        self.browse = QPushButton("Browse…")
        self.browse.setAccessibleName("Browse…")
        self.browse.clicked.connect(self.choose_file)
        replay_row = QHBoxLayout()
        replay_row.setContentsMargins(0, 0, 0, 0)
        replay_row.addWidget(self.replay, 1)
        replay_row.addWidget(self.browse)
        replay_host = QWidget()
        replay_host.setLayout(replay_row)

        self.fields = {"Source": self.source, "Venue": self.venue, "Instrument": self.instrument,
                       "URL": self.url, "REST URL": self.rest_url, "Rate": self.rate, "Seed": self.seed,
                       "Replay file": self.replay, "Speed": self.speed}
        form_layout = QFormLayout()
        for label, widget in self.fields.items():
            form_layout.addRow(label, replay_host if widget is self.replay else widget)
        self.message = QLabel("")
        self.message.setObjectName("feed_message")
        self.message.setAccessibleName("Message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ffa198;")
        self.note = QLabel(drawable(note))
        self.note.setObjectName("hint")
        self.note.setAccessibleName("Note")
        self.note.setWordWrap(True)
        self.note.setVisible(bool(note))
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setAccessibleName("Connect")
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.note)
        layout.addLayout(form_layout)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.source.currentIndexChanged.connect(self._enable_fields)
        self.venue.currentIndexChanged.connect(self._on_venue)
        self.load(form or {})

    # --- fields ----------------------------------------------------------------------------
    @staticmethod
    def _combo(label: str, items: tuple[tuple[str, str], ...]) -> QComboBox:
        box = QComboBox()
        for text, data in items:
            box.addItem(text, data)
        box.setAccessibleName(label)
        return box

    @staticmethod
    def _line(label: str, placeholder: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setAccessibleName(label)
        edit.setPlaceholderText(placeholder)
        return edit

    def load(self, form: dict[str, Any]) -> None:
        """Show ``form`` (the current feed's fields, as ``FeedChoice.to_form`` gives them)."""
        self._select(self.source, str(form.get("source") or "synthetic"))
        self._select(self.venue, str(form.get("feed") or DEFAULT_VENUE))
        self._list_symbols(str(form.get("instrument") or ""))
        self.url.setText(str(form.get("url") or ""))
        self.rest_url.setText(str(form.get("rest_url") or ""))
        self.rate.setText(f"{float(form.get('rate', 10.0)):g}")
        self.seed.setText(str(form.get("seed", 7)))
        self.replay.setText(str(form.get("replay") or ""))
        self.speed.setText(f"{float(form.get('speed', 1.0)):g}")
        self._enable_fields()

    def form(self) -> dict[str, Any]:
        """The fields as typed (the app's ``check`` parses and refuses)."""
        return {"source": self.source.currentData(), "feed": self.venue.currentData(),
                "instrument": self.instrument.currentText(), "url": self.url.text(),
                "rest_url": self.rest_url.text() if self.rest_url.isEnabled() else "",
                "rate": self.rate.text(), "seed": self.seed.text(), "replay": self.replay.text(),
                "speed": self.speed.text()}

    @staticmethod
    def _select(box: QComboBox, data: str) -> None:
        i = box.findData(data)
        if i >= 0:
            box.setCurrentIndex(i)

    def _list_symbols(self, wanted: str = "") -> None:
        """The chosen venue's instruments; ``wanted`` (else the one shown) stays chosen where the
        venue lists it, else its first. A symbol of a spec inferred from a live feed is listed too."""
        venue = self.venue.currentData() or DEFAULT_VENUE
        keep = wanted or self.instrument.currentText()
        symbols = venue_symbols(venue)
        if wanted and wanted not in symbols and get_venue(venue).infer_instrument is not None:
            symbols = [*symbols, wanted]
        self.instrument.clear()
        self.instrument.addItems(symbols)
        if keep in symbols:
            self.instrument.setCurrentText(keep)

    def _on_venue(self) -> None:
        self._list_symbols()
        self._enable_fields()

    def _enable_fields(self) -> None:
        source = self.source.currentData()
        venue = get_venue(self.venue.currentData() or DEFAULT_VENUE)
        on = {"synthetic": ("Venue", "Instrument", "Rate", "Seed"),
              "url": ("Venue", "Instrument", "URL") + (("REST URL",) if venue.rest_snapshot_url else ()),
              "replay": ("Replay file", "Speed")}[source]
        for label, widget in self.fields.items():
            if label != "Source":
                widget.setEnabled(label in on)
        self.url.setPlaceholderText(venue.default_url)
        self.rest_url.setPlaceholderText(venue.default_rest_url or f"{venue_label(venue.name)} takes no REST snapshot")
        self.browse.setEnabled(source == "replay")
        self.message.setText("")

    # --- actions ---------------------------------------------------------------------------
    def choose_file(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Replay file", self.replay.text(), RECORDING_FILTER)
        if path:
            self.replay.setText(path)

    def try_accept(self) -> bool:
        """Accept the fields if ``check`` takes them; else say why, naming the field, and stay."""
        try:
            choice = self.check(self.form())
        except ValueError as exc:
            self.message.setText(drawable(str(exc)))
            field = self.fields.get(getattr(exc, "field", ""))
            if field is not None:
                field.setFocus()
            return False
        self.choice = choice
        self.message.setText("")
        self.chosen.emit(choice)
        self.accept()
        return True
