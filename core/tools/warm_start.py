"""The warm-start generator: runs the synthetic market through cold models and writes what they learnt.

The online models start from ``resources/models/warm_start.json`` so that predictions exist
from the first book; live labels take over from there (RLS forgetting, SGD steps). The
features are in bps and relative sizes, so coefficients learnt on the synthetic
BTC-USDT-SWAP transfer as a starting point to any instrument; each instrument's suite then
learns on its own.

Regenerate (deterministic for a given seed and step count; about a minute)::

    python -m core.tools.warm_start --steps 20000 --seed 2024 --out resources/models/warm_start.json
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import orjson

from core.engine import Engine
from core.instruments import get_instrument
from core.models.suite import CostModels
from core.params import OrderParams
from core.sim.market import SyntheticMarket


def generate(steps: int = 20_000, seed: int = 2024, progress=None) -> dict:
    """Run the synthetic market through an Engine with cold models and keep what they learnt.

    The order size, side-agnostic probes and execution delay are varied every few seconds
    of market time (log-uniform sizes from 1k to 3M USD; delays 0-1000 ms) so that every
    feature moves and the coefficients are not tuned to one order.
    """
    inst = get_instrument("BTC-USDT-SWAP")
    market = SyntheticMarket(seed=seed)
    models = CostModels(inst, warm_start=None)
    engine = Engine(inst, "goquant", OrderParams(), models=models)
    rng = np.random.default_rng(seed + 1)
    vols = []
    for i in range(steps):
        if i % 50 == 0:
            engine.set_params(OrderParams(
                quantity=float(np.exp(rng.uniform(math.log(1e3), math.log(3e6)))),
                exec_delay_ms=float(rng.choice([0.0, 100.0, 250.0, 500.0, 1000.0]))))
        engine.ingest(market.goquant_message(market.step()))
        snap = engine.evaluate()
        if snap is not None and math.isfinite(snap.features.vol_per_s):
            vols.append(snap.features.vol_per_s)
        if progress and i % 2000 == 0:
            progress(f"step {i}/{steps}")
    sq, fq = models.slippage.quality(), models.fill.quality()
    return {
        "generator": {
            "command": f"python -m core.tools.warm_start --steps {steps} --seed {seed}",
            "market": "core.sim.market.SyntheticMarket (BTC-USDT-SWAP, 400 levels, 10 books/s)",
            "steps": steps, "seed": seed,
        },
        "vol_prior_per_s": float(np.median(vols)) if vols else 1e-4,
        "slippage": models.slippage.state_dict(),
        "fill": models.fill.state_dict(),
        "quality_at_generation": {
            "slippage_mae_bps": sq.mae_bps, "slippage_coverage": list(sq.coverage),
            "slippage_labels": sq.labels_total, "fill_brier": fq.brier,
            "fill_base_rate": fq.base_rate, "fill_mean_predicted": fq.mean_predicted,
            "fill_labels": fq.labels_total,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.tools.warm_start",
                                     description="Generate the shipped warm-start coefficients.")
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--out", type=Path, default=Path("resources/models/warm_start.json"))
    args = parser.parse_args(argv)
    data = generate(args.steps, args.seed, progress=lambda m: print(m, file=sys.stderr))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    print(f"wrote {args.out}: {orjson.dumps(data['quality_at_generation']).decode()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
