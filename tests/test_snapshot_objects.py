"""The objects a snapshot carries behave as ordinary frozen dataclasses, whichever way the hot
path built them (``core.snapshot.build``): every field present and nothing else, assignment
refused, arrays read-only, ``dataclasses.asdict`` working. Market and limit orders, both feeds,
with the cost models attached."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.engine import Engine
from core.instruments import get_instrument
from core.models import CostModels
from core.params import OrderParams
from core.snapshot import Snapshot
from core.sim.market import SyntheticMarket

INST = get_instrument("BTC-USDT-SWAP")


def _snapshots():
    market = SyntheticMarket(seed=21)
    gq = Engine(INST, "goquant", OrderParams(quantity=50_000), models=CostModels(INST))
    okx = Engine(INST, "okx", OrderParams(quantity=50_000), models=CostModels(INST))
    first = market.step()
    okx.ingest(market.okx_snapshot(first))
    out = []
    for i in range(40):
        step = market.step()
        gq.ingest(market.goquant_message(step))
        okx.ingest(market.okx_update(step))
        if i % 10 == 9:
            for engine in (gq, okx):
                out.append(engine.evaluate(OrderParams(quantity=80_000, side="sell")))
                out.append(engine.evaluate(OrderParams(quantity=3.0, unit="base", order_type="limit",
                                                       limit_offset_bps=1.0)))
                out.append(engine.evaluate(OrderParams(quantity=10_000, reference="best"),
                                           feed={"state": "live"}))
    return out


def _dataclass_objects(obj, seen=None):
    """Every dataclass instance reachable from ``obj`` through fields and tuples."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return
    seen.add(id(obj))
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        yield obj
        for f in dataclasses.fields(obj):
            yield from _dataclass_objects(getattr(obj, f.name), seen)
    elif isinstance(obj, tuple):
        for item in obj:
            yield from _dataclass_objects(item, seen)


@pytest.fixture(scope="module")
def snapshots():
    return _snapshots()


def test_every_object_has_exactly_its_fields(snapshots):
    kinds = set()
    for snap in snapshots:
        assert isinstance(snap, Snapshot) and snap.estimate is not None
        for obj in _dataclass_objects(snap):
            kinds.add(type(obj).__name__)
            names = [f.name for f in dataclasses.fields(obj)]
            have = list(vars(obj)) if hasattr(obj, "__dict__") else list(obj.__slots__)
            assert sorted(have) == sorted(names), type(obj).__name__
    assert {"Snapshot", "BookView", "Features", "Fill", "CostCurve", "Latency", "Estimate",
            "ImpactView", "SlippageQuality", "FillQuality", "OrderParams"} <= kinds


def test_objects_are_frozen_and_arrays_read_only(snapshots):
    for snap in snapshots:
        for obj in _dataclass_objects(snap):
            first = dataclasses.fields(obj)[0].name
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(obj, first, None)
            for f in dataclasses.fields(obj):
                value = getattr(obj, f.name)
                if isinstance(value, np.ndarray):
                    assert not value.flags.writeable, f"{type(obj).__name__}.{f.name}"
                    with pytest.raises(ValueError):
                        value[...] = 0


def test_asdict_exports_every_field(snapshots):
    snap = snapshots[-1]
    for part in (snap.book, snap.features, snap.fill, snap.curve, snap.latency, snap.estimate,
                 snap.estimate.impact):
        exported = dataclasses.asdict(part)
        assert list(exported) == [f.name for f in dataclasses.fields(part)]
    assert dataclasses.asdict(snap)["fill"]["side"] == snap.fill.side
    assert snap.feed == {"state": "live"} and snap.extras == {}


def test_draft_and_published_snapshots_do_not_share_mutable_parts():
    market = SyntheticMarket(seed=3)
    engine = Engine(INST, "goquant", OrderParams(quantity=50_000), models=CostModels(INST))
    seen = []

    class Spy:
        def observe(self, snap):
            seen.append(snap)

        def estimate(self, snap):
            seen.append(snap)
            return None

        def check(self, params):
            pass

    engine.models = Spy()
    engine.ingest(market.goquant_message(market.step()))
    snap = engine.evaluate()
    assert seen and all(s is not snap for s in seen)
    assert seen[0].counters == {} and snap.counters["evaluations"] == 1
    assert seen[0].extras is not snap.extras
    assert snap.ready_ns > 0 and seen[0].ready_ns == 0
