"""Typed YAML configuration: load, validate, and report errors in one line.

Every config in HDX is a pydantic model. :func:`load_config` accepts either a path to a YAML file or
the name of a config shipped in ``hdx/configs/<kind>/<name>.yaml`` and returns the validated model.
Validation failures become a :class:`~hdx.errors.ConfigError` naming the file, the field and the
problem, so the CLI can print one line and exit with code 2.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_serializer

from hdx.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


#: the largest config file HDX reads (a real one is a few KiB)
MAX_CONFIG_BYTES = 256 * 1024


class StrictModel(BaseModel):
    """Base for config models: unknown keys are errors, instances are immutable, and no float field
    accepts NaN or ±inf (``.inf`` / ``.nan`` in YAML are one-line errors, never results)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class OmitDefaults(StrictModel):
    """A config that serialises without the optional fields (``_optional``: name, default) left at their
    defaults, so a file written before those fields existed dumps (and fingerprints) exactly as it did."""

    _optional: tuple[tuple[str, object], ...] = ()

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler):
        d = handler(self)
        for key, default in self._optional:
            if key in d and d[key] == default:
                del d[key]
        return d


def config_hash(cfg: BaseModel) -> str:
    """Short stable hash of a pydantic config (detects an edited YAML with the same name)."""
    import hashlib

    return hashlib.sha256(cfg.model_dump_json().encode()).hexdigest()[:16]


def builtin_config_dir(kind: str) -> Path:
    """Folder of the configs shipped with the package for ``kind`` (``network``, ``accelerator``...)."""
    return Path(str(resources.files("hdx") / "configs" / kind))


def builtin_names(kind: str) -> list[str]:
    """Names of the shipped configs of one kind."""
    folder = builtin_config_dir(kind)
    return sorted(p.stem for p in folder.glob("*.yaml")) if folder.is_dir() else []


def resolve_config_path(name_or_path: str | Path, kind: str) -> Path:
    """A YAML path for a shipped config name or a user path; error if neither exists."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or p.exists():
        if not p.is_file():
            raise ConfigError(f"{kind} config file not found: {p} (give an existing YAML file or one of "
                              f"the shipped names: {', '.join(builtin_names(kind))})")
        return p
    cand = builtin_config_dir(kind) / f"{name_or_path}.yaml"
    if cand.is_file():
        return cand
    raise ConfigError(f"unknown {kind} config '{name_or_path}': give a YAML path or one of "
                      f"{', '.join(builtin_names(kind))}")


MAX_NESTING = 64


def _flow_depth(text: str) -> int:
    """Deepest nesting of ``[`` / ``{`` (a cheap upper bound, checked before the parser recurses)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def read_yaml(path: Path) -> Any:
    """Parse a YAML file (UTF-8 text, at most :data:`MAX_CONFIG_BYTES`; ``yaml.safe_load``, so no tag
    builds an object); binary input, a syntax error or an absurd nesting become one line."""
    from hdx.errors import HDXError
    from hdx.safeio import read_text

    try:
        text = read_text(path, max_bytes=MAX_CONFIG_BYTES, what="config file")
    except HDXError as e:
        raise ConfigError(str(e)) from None
    if _flow_depth(text) > MAX_NESTING:
        raise ConfigError(f"malformed YAML in {path}: nested too deeply (more than {MAX_NESTING} levels)")
    try:
        if any(isinstance(t, yaml.AliasToken) for t in yaml.scan(text)):
            raise ConfigError(f"config file {path} uses YAML aliases (*name); write the values out")
        return yaml.safe_load(text)
    except RecursionError:
        raise ConfigError(f"malformed YAML in {path}: nested too deeply") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"malformed YAML in {path}{where}: {problem}") from None


def format_validation_error(err: ValidationError, source: str) -> str:
    """One line naming each failing field, e.g. ``stages.1.stride: must be >= 1``."""
    parts = []
    for e in err.errors()[:3]:
        loc = ".".join(str(x) for x in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}")
    more = f" (+{len(err.errors()) - 3} more)" if len(err.errors()) > 3 else ""
    return " ".join((f"invalid {source}: " + "; ".join(parts) + more).split())[:600]


def validate(model: type[M], data: Any, source: str) -> M:
    """Validate ``data`` into ``model``; errors become a one-line :class:`ConfigError`."""
    if data is None:
        raise ConfigError(f"{source} is empty: expected a mapping of {model.__name__} fields")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, source)) from None


def load_config(model: type[M], name_or_path: str | Path, kind: str) -> M:
    """Load and validate a config of ``kind`` given by shipped name or YAML path."""
    path = resolve_config_path(name_or_path, kind)
    return validate(model, read_yaml(path), f"{kind} config {path.name}")


def dump_yaml(obj: BaseModel | dict) -> str:
    """YAML text of a config model (the resolved config written into run directories)."""
    data = obj.model_dump(mode="json") if isinstance(obj, BaseModel) else obj
    return yaml.safe_dump(data, sort_keys=False)


# ---------------------------------------------------------------------------------------------------
# command-line overrides: the one way to set any config field from a command
MAX_OVERRIDE_CHARS = 4096
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def parse_overrides(pairs: list[str] | None, model: type[BaseModel], flags: dict[str, Any] | None = None
                    ) -> dict[str, Any]:
    """Parse ``key=value`` overrides of ``model``'s fields (``-`` in keys may be written for ``_``).

    Values are YAML scalars or flow collections (``epochs=12``, ``subset=null``,
    ``budgets=[latency<=2ms, area<=1.7mm2]``, ``weights={latency: 1, energy: 1}``), parsed with
    ``yaml.safe_load`` (no tags build objects). Unknown keys, repeats and malformed values are one
    line naming the key; the values themselves are validated with the model. ``flags``: values of
    command-line shortcut options for the same keys (``None``: not given); a key given both ways is
    refused.
    """
    import difflib

    out: dict[str, Any] = {}
    fields = list(model.model_fields)
    for pair in pairs or []:
        key, sep, text = str(pair).partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ConfigError(f"override '{pair}': write key=value (e.g. epochs=12), "
                              f"keys: {', '.join(fields)}")
        if key not in model.model_fields:
            near = difflib.get_close_matches(key, fields, n=1)
            hint = f"did you mean {near[0]}?" if near else f"keys: {', '.join(fields)}"
            raise ConfigError(f"override '{pair}': unknown key '{key}' ({hint})")
        if key in out:
            raise ConfigError(f"override key '{key}' given twice")
        if len(text) > MAX_OVERRIDE_CHARS or _flow_depth(text) > 8:
            raise ConfigError(f"override '{key}': value too long or nested too deeply")
        try:
            if any(isinstance(t, yaml.AliasToken) for t in yaml.scan(text)):
                raise ConfigError(f"override '{key}': YAML aliases are not allowed")
            value = yaml.safe_load(text) if text.strip() else None
            if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
                value = float(value)  # YAML 1.1 reads 4e-5 (no dot) as a string
            out[key] = value
        except yaml.YAMLError as e:
            problem = getattr(e, "problem", None) or str(e).splitlines()[0]
            raise ConfigError(f"override '{key}': malformed value '{text[:60]}': {problem}") from None
    for key, value in (flags or {}).items():
        if value is not None:
            if key in out:
                raise ConfigError(f"{key} given both as an option and as {key}=...: keep one")
            out[key] = value
    return out


def with_overrides(base: M, overrides: dict[str, Any], source: str = "command-line options") -> M:
    """A copy of ``base`` with ``overrides`` applied (``None`` values included), re-validated."""
    return validate(type(base), {**base.model_dump(), **overrides}, source)
