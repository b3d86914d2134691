"""Analytical ground-truth cost model of the DANCE/Eyeriss template with a vectorised mapper.

Every modelling assumption, with units, is in docs/cost-model.md. The package reads in pipeline order:

* :mod:`.dims` — typed [layers × accelerators] views of the loop bounds and the hardware;
* :mod:`.spatial` — spatial unrolling of each dataflow and tile arithmetic;
* :mod:`.dataflows` — the PE-local mapping candidates of WS, OS and RS;
* :mod:`.mapper` — the GLB-level loop order of a candidate and the choice among candidates;
* :mod:`.memory` — the GLB ↔ DRAM schedule search (tiles, resident operand, loop order);
* :mod:`.schedule` — each candidate's DRAM schedule and GLB-level order, per buffering and reuse;
* :mod:`.distinct` — candidates with the same inputs on designs of one kind, solved once;
* :mod:`.reuse` — ``glb_reuse="tile"``: reuse within one DRAM tile, the schedule chosen with each order;
* :mod:`.model` — :class:`AnalyticalModel`: dispatch and the assembly of latency, energy and area;
* :mod:`.explain` — the chosen mapping as one line and as a record (``hdx cost --explain [--json]``).
"""

from .dataflows import OS_MODES, RS_MODES
from .explain import bound_shares, describe_mapping, schedule_of
from .mapper import GROUPS, ORDERS, MapperObjective, MapperSpace, MapperTiles
from .model import MAPPING_FIELDS, MIN_RF_WORDS, AnalyticalModel
from .rows import Precision
from .spatial import largest_divisor

_largest_divisor = largest_divisor  # the name the tests of v2.4 used

__all__ = ["GROUPS", "MAPPING_FIELDS", "MIN_RF_WORDS", "ORDERS", "OS_MODES", "RS_MODES",
           "AnalyticalModel", "MapperObjective", "MapperSpace", "MapperTiles", "Precision",
           "bound_shares", "describe_mapping", "largest_divisor", "schedule_of"]
