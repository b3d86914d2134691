"""Ground-truth hardware cost models behind one interface (:class:`hdx.cost.base.CostModel`)."""

from hdx.cost.base import CostModel, LayerCosts, NetworkCosts

__all__ = ["CostModel", "LayerCosts", "NetworkCosts"]
