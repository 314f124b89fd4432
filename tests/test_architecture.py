"""Imports point down only (DESIGN.md), and importing the code has no side effects.

rules/ at the bottom imports only the standard library; collectors/ and api/ import rules/
and their own libraries, never each other and never agent/; agent/ wires them all.
Two independent checks: import-linter with the contract in pyproject.toml, and a parse of
every import statement here, so a broken tool or a loosened contract can't hide a violation.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("rules", "collectors", "api", "agent")
FORBIDDEN = {
    "collectors": {"api", "agent"},
    "api": {"collectors", "agent"},
}


@dataclass(frozen=True)
class Import:
    file: Path
    line: int
    module: str  # absolute dotted name

    def __str__(self) -> str:
        return f"{self.file.relative_to(REPO)}:{self.line} imports {self.module}"


def _python_files(package: str) -> list[Path]:
    return sorted(p for p in (REPO / package).rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[Import]:
    return _imports_in(path.read_text(encoding="utf-8"), path, _module_name(path), path.name == "__init__.py")


def _imports_in(source: str, path: Path, module_name: str, is_package: bool) -> list[Import]:
    """Every import in source as an absolute module name: plain, from, relative, importlib.import_module("...")."""
    here = module_name.split(".")
    found: list[Import] = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append(Import(path, node.lineno, module))
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(Import(path, node.lineno, node.args[0].value))
    return found


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def test_import_linter_contract_is_kept() -> None:
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), (
        f"import-linter is not installed next to {sys.executable}; pip install -e '.[test]'"
    )
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"lint-imports found imports pointing the wrong way:\n{output}"
    assert "0 broken" in output and "kept" in output, output


def test_the_contract_names_every_layer() -> None:
    """A contract that forgot a package would pass vacuously."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    assert set(config["root_packages"]) >= set(PACKAGES)
    layers = [c for c in config["contracts"] if c["type"] == "layers"]
    assert layers, "pyproject.toml needs a 'layers' import-linter contract"
    flat = " ".join(layers[0]["layers"]).replace("|", " ").split()
    assert set(flat) >= set(PACKAGES), f"the layers contract leaves out {set(PACKAGES) - set(flat)}"


def test_rules_imports_only_the_standard_library_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"rules", "__future__"}
    bad = [str(i) for f in _python_files("rules") for i in _imports(f) if _top(i.module) not in allowed]
    assert not bad, "rules/ must stay standard-library only:\n" + "\n".join(bad)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_adapters_never_import_each_other_or_the_agent(package: str) -> None:
    bad = [
        str(i) for f in _python_files(package) for i in _imports(f) if _top(i.module) in FORBIDDEN[package]
    ]
    assert not bad, f"{package}/ must not import {sorted(FORBIDDEN[package])}:\n" + "\n".join(bad)


def test_the_import_parser_sees_relative_and_dynamic_imports() -> None:
    """The checks above are only as good as the parser; make sure it finds each kind of import."""
    source = textwrap.dedent(
        """
        from ..agent import runtime
        from . import sink
        from .snmp.config import SnmpDefaults
        import importlib
        importlib.import_module("api.routes")
        """
    )
    path = REPO / "collectors" / "mqtt" / "probe.py"  # only its name is used
    found = {i.module for i in _imports_in(source, path, "collectors.mqtt.probe", is_package=False)}
    assert found >= {"collectors.agent", "collectors.mqtt", "collectors.mqtt.snmp.config", "api.routes"}
    top_level = {i.module for i in _imports_in("from ..agent import x", path, "collectors.mqtt.probe", False)}
    assert top_level == {"collectors.agent"}
    assert {
        i.module for i in _imports_in("from ...agent import x", path, "collectors.mqtt.probe", False)
    } == {"agent"}


# Run in a fresh interpreter: import every module of the four packages and record anything
# that opens a socket, starts a thread or a process, or opens a database while doing so.
_IMPORT_PROBE = r"""
import importlib, json, pkgutil, sys, threading

events = []
current = [None]
WATCH = {"socket.__new__", "socket.connect", "socket.bind", "subprocess.Popen", "os.fork",
         "os.posix_spawn", "os.system", "sqlite3.connect", "open"}

def hook(event, args):
    if event not in WATCH or current[0] is None:
        return
    if event == "open":  # only writes count: reading source and data files is what importing is
        mode = args[1] if len(args) > 1 else "r"
        if not isinstance(mode, str) or not any(c in mode for c in "wax+"):
            return
    events.append([current[0], event, repr(args)[:160]])

sys.addaudithook(hook)

_start = threading._start_new_thread  # Python 3.11 has no audit event for new threads
def _recording_start(*args, **kwargs):
    events.append([current[0], "thread started", repr(args[0])[:160]])
    return _start(*args, **kwargs)
threading._start_new_thread = _recording_start

names = []
for root in sys.argv[1:]:
    package = importlib.import_module(root)
    names.append(root)
    names += [m.name for m in pkgutil.walk_packages(package.__path__, root + ".")]
failed = []
before = {t.ident for t in threading.enumerate()}
for name in names:
    current[0] = name
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append([name, repr(exc)])
current[0] = None
extra = [t.name for t in threading.enumerate() if t.ident not in before]
print(json.dumps({"modules": names, "events": events, "failed": failed, "threads": extra}))
"""


def test_importing_every_module_starts_nothing() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, *PACKAGES],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["modules"]) > len(PACKAGES), "found no modules to import"
    assert not report["failed"], "modules that fail to import:\n" + "\n".join(map(str, report["failed"]))
    problems = "\n".join(f"{module}: {event} {args}" for module, event, args in report["events"])
    assert not report["events"], f"importing must not open sockets, start threads or processes:\n{problems}"
    assert not report["threads"], f"threads still running after imports: {report['threads']}"


def test_the_import_probe_catches_a_module_that_starts_things(tmp_path: Path) -> None:
    package = tmp_path / "noisy"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "starts.py").write_text(
        "import socket, threading, time\n"
        "threading.Thread(target=time.sleep, args=(5,), daemon=True).start()\n"
        "socket.socket().close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, "noisy"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    kinds = {event for module, event, _args in report["events"] if module == "noisy.starts"}
    assert {"thread started", "socket.__new__"} <= kinds, report
    assert report["threads"], report
