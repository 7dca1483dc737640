"""Cost models on top of the Engine's snapshot: fees, Almgren-Chriss impact and schedule,
online slippage regression, maker/taker fill model, net cost (see README "Cost models").

``CostModels(instrument)`` is the Engine's ``Models``; its ``estimate`` returns an
:class:`Estimate` that the snapshot carries.
"""
from core.models.estimate import HEADLESS_FIELDS, CostItem, Estimate, ImpactView
from core.models.fees import UnknownFeeSchedule
from core.models.suite import CostModels, ModelConfig

__all__ = ["CostModels", "ModelConfig", "Estimate", "ImpactView", "CostItem", "HEADLESS_FIELDS",
           "UnknownFeeSchedule"]
