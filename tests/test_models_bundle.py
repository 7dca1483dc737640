"""Each online model's state is one bundle (``core.models.bundle``): Python's attributes are
views of it, assignment copies into it, and copies get their own bundle."""
from __future__ import annotations

import copy
import pickle

import numpy as np
from numba import typeof

from core.models.maker_taker import FillModel
from core.models.slippage_model import I_UPDATES, SlippageModel


def test_attributes_are_views_of_the_bundle_and_assignment_copies_into_it():
    model = SlippageModel()
    for name in ("w", "P", "Wq", "qs", "fs", "ist", "pend_meta", "pend_x", "pend_pred", "ring",
                 "sums", "quality_out"):
        view = getattr(model, name)
        assert np.shares_memory(view, model.bundle), name
        # the same Numba type as a freshly allocated array: no extra compilation for views
        assert typeof(view) == typeof(view.copy()), name
    w = model.w
    model.w = np.arange(float(w.shape[0]))
    assert model.w is w and model.bundle["w"][0].tolist() == list(range(w.shape[0]))
    model.ist[I_UPDATES] = 7
    assert model.bundle["ist"][0][I_UPDATES] == 7


def test_copies_and_pickles_own_their_bundle():
    fill = FillModel(0.1)
    for other in (copy.deepcopy(fill), pickle.loads(pickle.dumps(fill))):
        assert other.bundle.tobytes() == fill.bundle.tobytes()
        assert np.shares_memory(other.w, other.bundle)
        assert not np.shares_memory(other.bundle, fill.bundle)
        other.w[0] += 1.0
        assert other.bundle["w"][0][0] == other.w[0] != fill.w[0]
    assert fill.bundle["tick"][0] == 0.1 and fill.bundle["horizon_s"][0] == fill.config.horizon_s
