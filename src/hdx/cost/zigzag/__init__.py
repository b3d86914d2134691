"""ZigZag (KU Leuven ``zigzag-dse``) as a second, independent ground-truth cost model.

Each (layer, accelerator) pair is translated **in memory** into ZigZag inputs and run through ZigZag's
own pipeline (``AcceleratorValidator`` → ``AcceleratorFactory``, ``WorkloadValidator`` +
``MappingValidator`` → ``WorkloadFactory``, then ``MainStage`` with ``WorkloadStage,
MinimalLatencyStage, SpatialMappingGeneratorStage, MinimalLatencyStage,
TemporalMappingGeneratorStage, CostModelStage``). Nothing is written to disk, nothing is plotted and
ZigZag's bundled CACTI is never called.

Translation of the Eyeriss-like template (:mod:`hdx.space.accelerator`):

* memories, inner to outer: per PE an RF of ``rf_bytes`` holding what the dataflow keeps stationary
  (WS: weights, OS: partial sums; RS: three fixed scratchpads for weights, inputs and partial sums,
  like Eyeriss's spads, sized by ``HardwareParams.spad_words`` as in the analytical model) and a
  1-word register for every other operand; the global buffer ``glb`` (``glb_bytes``, shared by all
  operands, serves the whole array at ``glb_words_per_cycle`` words per cycle); ``dram``
  (``dram_bytes_per_cycle``). Per-PE memories move one word per operand per cycle;
* operational array ``D1 = pe_x`` (columns) × ``D2 = pe_y`` (rows) MACs;
* the dataflow is the spatial unrolling (columns × rows): WS = K × C, OS = OX × OY, RS = OY × FY, each
  axis replicating output channels (RS rows: input channels) on the PEs its first loop leaves idle:
  the analytical model's own unrolling (:func:`hdx.cost.analytical.spatial.unroll`, one policy for
  both), translated by :func:`.translate.spatial_unrolling`. A depthwise layer has K = C = 1 per
  group, so its group dimension G takes their place (otherwise it would collapse to one PE row);
* the temporal mapping is searched by ZigZag's LOMA mapper (``loma_lpf_limit`` small, FX/FY pinned
  innermost where they are temporal loops), which is deterministic; the minimum-latency mapping wins.

Technology (per-access energies, areas) comes from the same :mod:`hdx.cost.tech` table as the
analytical model (``hardware.tech``), so the two models differ in modelling, not in technology.

Units: latency in cycles, energy in pJ, area in µm². ZigZag's latency is compute cycles of the chosen
mapping **plus** memory stalls and on/off-loading (not the max of two bounds), so here
``memory_cycles`` holds those extra cycles and ``latency_cycles = compute_cycles + memory_cycles``.
Register energy is reported in the ``rf`` part. ZigZag models no interconnect; the ``noc`` area part
holds the per-PE 1-word registers (the analytical model's NoC registers).

Modules: :mod:`.adapter` (:class:`ZigZagModel`: HDX's cost-model interface over ZigZag's pipeline),
:mod:`.translate` (the accelerator, workload, dataflow and technology as ZigZag inputs, also used by
``hdx export --zigzag``) and :mod:`.crosscheck` (HDX's own mapping as a ZigZag temporal ordering, so
ZigZag can cost the mapping the analytical model chose: used by tests and benchmarks).
"""

from hdx.cost.zigzag.adapter import ZigZagModel, ZigZagResult, zigzag_version

__all__ = ["ZigZagModel", "ZigZagResult", "zigzag_version"]
