"""Ground-truth hardware cost models behind one interface (:class:`hdx.cost.base.CostModel`).

The costing of a network (``hdx cost``) is :func:`hdx.api.cost`; nothing here imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from hdx.cost.base import CostModel, LayerCosts, NetworkCosts
from hdx.errors import HDXError

if TYPE_CHECKING:
    from hdx.space.accelerator import HardwareParams

#: ``zigzag``: ZigZag's costs of the best mapping it rates of its LOMA search's and the analytical model's;
#: ``zigzag-loma``: of LOMA's alone (:class:`hdx.cost.zigzag.ZigZagModel`'s ``mappings``)
BACKENDS: tuple[str, ...] = ("analytical", "zigzag", "zigzag-loma")
#: the backends that run ZigZag (seconds per layer: too slow for a whole grid)
ZIGZAG_BACKENDS: tuple[str, ...] = ("zigzag", "zigzag-loma")

__all__ = ["BACKENDS", "ZIGZAG_BACKENDS", "CostModel", "LayerCosts", "NetworkCosts", "get_cost_model"]


def get_cost_model(backend: Literal["analytical", "zigzag"] | str = "analytical",
                   hardware: HardwareParams | None = None) -> CostModel:
    """The cost model of ``backend`` for ``hardware`` (zigzag is imported lazily: optional extra); a path
    ending in ``.npz`` loads a cost table made by ``hdx cost tabulate`` (:mod:`hdx.cost.tabulated`)."""
    if backend == "analytical":
        from hdx.cost.analytical import AnalyticalModel

        return AnalyticalModel(hardware)
    if backend in ZIGZAG_BACKENDS:
        try:
            import zigzag  # noqa: F401
        except ImportError:
            raise HDXError("the zigzag backend needs the optional extra: pip install 'hdx[zigzag]'") from None
        try:
            from hdx.cost.zigzag.adapter import ZigZagModel
        except ModuleNotFoundError as e:
            if e.name and e.name.startswith("hdx"):
                raise HDXError("the zigzag backend is not part of this build of hdx; "
                               "use --backend analytical") from None
            raise HDXError(f"the zigzag backend needs the optional extra (missing module '{e.name}'): "
                           f"pip install 'hdx[zigzag]'") from None
        return ZigZagModel(hardware, mappings="loma" if backend == "zigzag-loma" else "loma+hdx")
    from hdx.cost.tabulated import TabulatedModel, is_table_file

    if is_table_file(backend):  # a table made by `hdx cost tabulate`
        return TabulatedModel(backend, hardware)
    raise HDXError(f"unknown cost backend '{backend}': use one of {', '.join(BACKENDS)} or a cost table "
                   f"file (.npz, made by hdx cost tabulate)")
