"""Search spaces: the network space (:mod:`hdx.space.network`) and the accelerator design space
(:mod:`hdx.space.accelerator`)."""

from hdx.space.accelerator import Accelerator, AcceleratorSpace
from hdx.space.network import NetworkSpace, OpSpec, parse_op

__all__ = ["Accelerator", "AcceleratorSpace", "NetworkSpace", "OpSpec", "parse_op"]
