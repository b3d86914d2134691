"""HDX: differentiable co-design of a neural network and its accelerator under hard budgets."""

__version__ = "0.1.0"
