"""Co-exploration search (docs/design.md#the-search): budgets, HDX gradient manipulation, objectives,
the bilevel search loop, and the ground-truth finish (derive, exhaustive accelerator, budget re-check).

Running a search is :func:`hdx.api.search` (``hdx search``).
"""
