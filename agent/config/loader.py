"""Read the YAML file, apply FACILITY_<SECTION>__<KEY> overrides, validate, and explain every mistake."""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from agent.config.model import AgentConfig
from agent.config.semantics import check_semantics

ENV_PREFIX = "FACILITY_"


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    key: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return f"{text} — {self.fix}" if self.fix else text


class ConfigError(Exception):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_config(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> AgentConfig:
    """Load the config file (or defaults when path is None) with environment overrides applied."""
    environ = os.environ if environ is None else environ
    if path is None:
        return load_config_text("{}", file="<defaults>", environ=environ)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [
                ConfigProblem(
                    str(file),
                    None,
                    "",
                    "file not found",
                    "check the path, or pass --config / FACILITY_CONFIG",
                )
            ]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([ConfigProblem(str(file), None, "", f"can't read it: {exc}", "")]) from None
    return load_config_text(text, file=str(file), environ=environ, source_path=file.resolve())


def load_config_text(
    text: str,
    *,
    file: str = "<config>",
    environ: Mapping[str, str] | None = None,
    source_path: Path | None = None,
) -> AgentConfig:
    environ = os.environ if environ is None else environ
    try:
        root = yaml.compose(text)
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(
            [
                ConfigProblem(
                    file,
                    line,
                    "",
                    f"not valid YAML: {getattr(exc, 'problem', exc)}",
                    "fix the syntax at that line",
                )
            ]
        ) from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(
            [
                ConfigProblem(
                    file, 1, "", "the top level must be a mapping of sections", "start with e.g. 'site:'"
                )
            ]
        )
    problems: list[ConfigProblem] = []
    _apply_env_overrides(raw, environ, problems)
    config = _validate_reporting_all(raw, file, root, problems)
    if config is None:
        raise ConfigError(problems)
    config.source_path = source_path
    for key_path, message, fix in check_semantics(config):
        problems.append(ConfigProblem(file, _line_of(root, key_path), _dotted(key_path), message, fix))
    if problems:
        raise ConfigError(problems)
    return config


def _validate_reporting_all(
    raw: dict[str, Any], file: str, root: yaml.Node | None, problems: list[ConfigProblem]
) -> AgentConfig | None:
    """Validate; on errors, report them, drop the bad keys and try again so that cross-key checks
    (duplicates, thresholds) still run and every mistake is reported in one pass."""
    work = copy.deepcopy(raw)
    for _attempt in range(5):
        try:
            return AgentConfig.model_validate(work)
        except ValidationError as exc:
            for error in exc.errors():
                problem = _explain(error, file, root)
                if problem not in problems:
                    problems.append(problem)
                if not _drop(work, tuple(error["loc"])):
                    return None
    return None


def _drop(raw: Any, loc: tuple[Any, ...]) -> bool:
    """Delete the key at loc (or the list item holding a missing key). False when nothing can be dropped."""
    parents: list[tuple[Any, Any]] = []
    node = raw
    for part in loc:
        if (
            isinstance(node, dict)
            and part in node
            or isinstance(node, list)
            and isinstance(part, int)
            and part < len(node)
        ):
            parents.append((node, part))
            node = node[part]
        else:
            break
    if not parents:
        return False
    container, key = parents[-1]
    if isinstance(container, list):
        container[key] = None
        container[:] = [item for item in container if item is not None]
    else:
        del container[key]
    return True


def _apply_env_overrides(
    raw: dict[str, Any], environ: Mapping[str, str], problems: list[ConfigProblem]
) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        target: Any = raw
        for part in parts[:-1]:
            nxt = target.get(part) if isinstance(target, dict) else None
            if nxt is None:
                nxt = {}
                target[part] = nxt
            if not isinstance(nxt, dict):
                problems.append(
                    ConfigProblem(f"${name}", None, ".".join(parts), "can't override inside a list", "")
                )
                break
            target = nxt
        else:
            try:
                target[parts[-1]] = yaml.safe_load(value) if value != "" else ""
            except yaml.YAMLError:
                target[parts[-1]] = value


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part) or (isinstance(part, str) and key.value == part):
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the last key of loc, to suggest the right spelling."""
    model: Any = AgentConfig
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        model = _unwrap(annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _unwrap(arg)
        if isinstance(found, type) and issubclass(found, BaseModel):
            return found
    return annotation


def _explain(error: Any, file: str, root: yaml.Node | None) -> ConfigProblem:
    loc = tuple(
        p for p in error["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-")))
    )
    key = _dotted(loc)
    line = _line_of(root, loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else ""
        model = _model_at(loc)
        fix = "remove it or check the spelling"
        if model is not None:
            names = [f.alias or n for n, f in model.model_fields.items() if n != "source_path"]
            close = difflib.get_close_matches(name, names, n=1)
            fix = f"did you mean '{close[0]}'?" if close else f"known keys here: {', '.join(sorted(names))}"
        return ConfigProblem(file, line, key, f"unknown key '{name}'", fix)
    if kind == "missing":
        return ConfigProblem(file, line, key, "is required", "add it")
    message = str(error["msg"]).removeprefix("Value error, ")
    return ConfigProblem(file, line, key, message, "")
