"""The feed dialog: where the window's books come from, changed without restarting.

Three sources: the embedded synthetic server (GoQuant or OKX protocol, rate, seed), a remote
URL (GoQuant or OKX format, instrument), or a replay file (served by the embedded server; the
format and instrument are the recording's). The dialog only collects the fields: ``check``
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

from core.venues import DEFAULT_VENUE, get_venue, venue_names

SOURCES = (("Synthetic (embedded server)", "synthetic"), ("URL", "url"), ("Replay file", "replay"))
FORMATS = tuple((get_venue(name).label or name, name) for name in venue_names())  # every venue
RECORDING_FILTER = "Recordings (*.jsonl.gz *.jsonl);;All files (*)"


class FeedDialog(QDialog):
    chosen = Signal(object)  # what ``check`` returned for the accepted fields

    def __init__(self, instruments: list[str], form: dict[str, Any] | None,
                 check: Callable[[dict[str, Any]], Any], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Feed")
        self.setAccessibleName("Feed")
        self.check = check
        self.choice: Any = None
        self.source = self._combo("Source", SOURCES)
        self.format = self._combo("Format", FORMATS)
        self.instrument = QComboBox()
        self.instrument.addItems(instruments)
        self.instrument.setAccessibleName("Instrument")
        self.url = self._line("URL", "wss://ws.okx.com:8443/ws/v5/public")
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

        self.fields = {"Source": self.source, "Format": self.format, "Instrument": self.instrument,
                       "URL": self.url, "Rate": self.rate, "Seed": self.seed,
                       "Replay file": self.replay, "Speed": self.speed}
        form_layout = QFormLayout()
        for label, widget in self.fields.items():
            form_layout.addRow(label, replay_host if widget is self.replay else widget)
        self.message = QLabel("")
        self.message.setObjectName("feed_message")
        self.message.setAccessibleName("Message")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #ffa198;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setAccessibleName("Connect")
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form_layout)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.source.currentIndexChanged.connect(self._enable_fields)
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
        self._select(self.format, str(form.get("feed") or DEFAULT_VENUE))
        if form.get("instrument") and self.instrument.findText(str(form["instrument"])) >= 0:
            self.instrument.setCurrentText(str(form["instrument"]))
        self.url.setText(str(form.get("url") or ""))
        self.rate.setText(f"{float(form.get('rate', 10.0)):g}")
        self.seed.setText(str(form.get("seed", 7)))
        self.replay.setText(str(form.get("replay") or ""))
        self.speed.setText(f"{float(form.get('speed', 1.0)):g}")
        self._enable_fields()

    def form(self) -> dict[str, Any]:
        """The fields as typed (the app's ``check`` parses and refuses)."""
        return {"source": self.source.currentData(), "feed": self.format.currentData(),
                "instrument": self.instrument.currentText(), "url": self.url.text(),
                "rate": self.rate.text(), "seed": self.seed.text(), "replay": self.replay.text(),
                "speed": self.speed.text()}

    @staticmethod
    def _select(box: QComboBox, data: str) -> None:
        i = box.findData(data)
        if i >= 0:
            box.setCurrentIndex(i)

    def _enable_fields(self) -> None:
        source = self.source.currentData()
        on = {"synthetic": ("Format", "Instrument", "Rate", "Seed"),
              "url": ("Format", "Instrument", "URL"),
              "replay": ("Replay file", "Speed")}[source]
        for label, widget in self.fields.items():
            if label != "Source":
                widget.setEnabled(label in on)
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
            self.message.setText(str(exc))
            field = self.fields.get(getattr(exc, "field", ""))
            if field is not None:
                field.setFocus()
            return False
        self.choice = choice
        self.message.setText("")
        self.chosen.emit(choice)
        self.accept()
        return True
