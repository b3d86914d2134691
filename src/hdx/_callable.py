"""``hdx.cost(...)``, ``hdx.search(...)`` and ``hdx.train(...)``: the packages of those names are
callable and forward to the API functions of :mod:`hdx.api` (a package and a function cannot share a
name on ``hdx`` otherwise: importing ``hdx.search.loop`` binds ``hdx.search`` to the package)."""

from __future__ import annotations

import sys
import types


def make_callable(module_name: str, api_name: str) -> None:
    """Make the module ``module_name`` callable as :func:`hdx.api.<api_name>`."""

    class CallablePackage(types.ModuleType):
        def __call__(self, *args, **kwargs):
            from hdx import api

            return getattr(api, api_name)(*args, **kwargs)

    CallablePackage.__call__.__doc__ = f"Same as :func:`hdx.api.{api_name}`."
    sys.modules[module_name].__class__ = CallablePackage
