"""Co-exploration search (DESIGN.md §7): budgets, HDX gradient manipulation, objectives, the bilevel
search loop, and the ground-truth finish (derive, exhaustive accelerator, budget re-check).

The package is callable: ``hdx.search(...)`` is :func:`hdx.api.search`.
"""

from hdx._callable import make_callable

make_callable(__name__, "search")
