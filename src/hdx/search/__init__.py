"""Co-exploration search (DESIGN.md §7): budgets, HDX gradient manipulation, objectives, the bilevel
search loop, and the ground-truth finish (derive, exhaustive accelerator, budget re-check)."""
