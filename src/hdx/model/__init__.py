"""Models over a network space: op modules (:mod:`.ops`), a standalone fixed network
(:mod:`.network`), the one-shot supernet (:mod:`.supernet`) and MAC/parameter counting (:mod:`.profile`)."""

from hdx.model.network import Network
from hdx.model.ops import MBConv, Zero, build_op, make_divisible
from hdx.model.profile import count_macs, count_params
from hdx.model.supernet import MixedLayer, SuperNet, tau_schedule

__all__ = ["MBConv", "MixedLayer", "Network", "SuperNet", "Zero", "build_op", "count_macs", "count_params",
           "make_divisible", "tau_schedule"]
