"""Co-exploration search (docs/design.md#the-search): budgets, HDX gradient manipulation, objectives, bilevel
search loop, and the ground-truth finish (derive, exhaustive accelerator, budget re-check).

The package is callable: ``hdx.search(...)`` is :func:`hdx.api.search`.
"""

from hdx._callable import make_callable

make_callable(__name__, "search")
