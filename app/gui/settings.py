"""What persists between launches, in one QSettings INI file.

The file is ``$SLIPSCOPE_SETTINGS`` when set (tests point it at a temporary file so they never
touch the user's), else the platform's per-user config location. A stored value that no longer
validates (an older version, a hand edit) falls back to the default instead of failing start-up.
"""
from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import orjson
from PySide6.QtCore import QSettings, QStandardPaths

from core.instruments import get_instrument
from core.params import InvalidParams, OrderParams
from core.venues import DEFAULT_VENUE, venue_symbols

ENV = "SLIPSCOPE_SETTINGS"
DEFAULT_INSTRUMENT = "BTC-USDT-SWAP"
#: the first launch opens on an order that walks a few levels of a BTC perp book: more telling
#: than OrderParams' 100 USD, which never leaves the touch
DEFAULT_PARAMS = OrderParams(quantity=250_000.0)


def settings_path() -> Path:
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppConfigLocation) or str(
        Path.home() / ".config" / "slipscope")
    return Path(base) / "slipscope.ini"


def open_settings(path: Path | None = None) -> QSettings:
    return QSettings(str(path or settings_path()), QSettings.Format.IniFormat)


def load_params(settings: QSettings) -> OrderParams:
    raw = settings.value("order/params", "")
    if not raw:
        return DEFAULT_PARAMS
    try:
        data = orjson.loads(str(raw))
        known = {f.name for f in fields(OrderParams)}
        return OrderParams(**{k: v for k, v in data.items() if k in known}).validated()
    except (orjson.JSONDecodeError, TypeError, InvalidParams, AttributeError):
        return DEFAULT_PARAMS


def save_params(settings: QSettings, params: OrderParams) -> None:
    settings.setValue("order/params", orjson.dumps(params.to_dict()).decode())


def load_instrument(settings: QSettings, venue: str = DEFAULT_VENUE) -> str:
    """The instrument last shown when ``venue`` lists it, else ``venue``'s nearest to the
    default instrument (BTC-USDT-SWAP: BTCUSDT on Binance USDⓈ-M)."""
    from widgets.inputs_panel import matching_symbol

    symbols = venue_symbols(venue)
    inst = str(settings.value("feed/instrument", "") or "")
    if inst in symbols:
        return inst
    return matching_symbol(get_instrument(DEFAULT_INSTRUMENT), symbols, venue)


def load_bool(settings: QSettings, key: str, default: bool = False) -> bool:
    v = settings.value(key, default)
    return v if isinstance(v, bool) else str(v).lower() in ("1", "true", "yes")


def default_export_dir() -> Path:
    """``~/Documents/slipscope-exports`` (the platform's documents folder; the home folder
    where there is none)."""
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
    return Path(docs) / "slipscope-exports"


def export_dir(settings: QSettings) -> Path:
    return Path(str(settings.value("export/dir", "") or default_export_dir()))


def save_export_dir(settings: QSettings, path: Path) -> None:
    settings.setValue("export/dir", str(path))


def load_feed_form(settings: QSettings) -> dict | None:
    """The feed dialog's last accepted fields (None: never chosen, or unreadable)."""
    raw = settings.value("feed/choice", "")
    if not raw:
        return None
    try:
        form = orjson.loads(str(raw))
    except orjson.JSONDecodeError:
        return None
    return form if isinstance(form, dict) else None


def save_feed_form(settings: QSettings, form: dict) -> None:
    settings.setValue("feed/choice", orjson.dumps(form).decode())
