"""A model's numeric state as one named bundle: a one-element NumPy structured array.

Why: calling a Numba function types and unboxes every argument, about 50-80 ns per array,
and the fused per-book calls used to take the state of both online models as 30-odd
separate arrays. A structured array is one argument (measured at about 150 ns with a
one-megabyte state) whose fields are named: in compiled code ``s = bundle[0]`` is a record
and ``s.w``, ``s.pend_meta`` are arrays over the bundle's memory, with no copy.

Python sees each field as a NumPy view of the same memory (:class:`Field`), so the
numbers compiled code writes are the numbers Python reads; assigning to a field copies into
the bundle instead of rebinding the name, so nothing can drift apart. The shapes come from
the model's config (pending capacity, window): one config, one dtype, one compilation.

Numba cannot type a nested array of booleans inside a record (numba 0.68), so a flag inside
the bundle is a scalar ``?`` field or, where it sits in a row of numbers, 0.0 / 1.0.
"""
from __future__ import annotations

from typing import Any

import numpy as np

#: (name, NumPy type, shape) of one field; shape () for a scalar
FieldSpec = tuple[str, Any, tuple[int, ...]]


def new_bundle(fields: list[FieldSpec]) -> np.ndarray:
    """A zeroed bundle with these fields (aligned, so every field view is an aligned,
    C-contiguous array of the same Numba type as a freshly allocated one)."""
    return np.zeros(1, np.dtype([(name, kind, shape) for name, kind, shape in fields], align=True))


class Field:
    """An array field of the owner's ``bundle``, read as a view and assigned by copying."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: "BundleOwner | None", objtype: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._views[self.name]

    def __set__(self, obj: "BundleOwner", value: Any) -> None:
        obj._views[self.name][...] = value


class BundleOwner:
    """Holds ``bundle`` and cached views of its array fields (rebuilt on copy and unpickling,
    which would otherwise copy the views away from the bundle).

    A subclass names the fields it shows as attributes: ``class M(BundleOwner, fields="w P")``.
    """

    bundle: np.ndarray
    _views: dict[str, np.ndarray]

    def __init_subclass__(cls, fields: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in fields.split():
            field = Field()
            field.__set_name__(cls, name)
            setattr(cls, name, field)

    def _attach(self, bundle: np.ndarray) -> None:
        self.bundle = bundle
        self._views = {name: bundle[name][0] for name in bundle.dtype.names
                       if bundle.dtype[name].shape}

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_views"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._attach(self.bundle)
