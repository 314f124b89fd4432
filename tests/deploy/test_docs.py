"""The README's commands and links stay true: the two commands first, files that exist, CLI
subcommands that exist, and a CI script that runs the README's test command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
DOCS = [
    README,
    REPO / "CHANGELOG.md",
    *sorted((REPO / "docs").rglob("*.md")),
    *sorted((REPO / "deploy").glob("*.md")),
]


def _code_lines(markdown: str) -> list[str]:
    blocks = re.findall(r"```[a-z]*\n(.*?)```", markdown, flags=re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_readme_opens_with_the_demo_then_the_tests() -> None:
    commands = [line for line in _code_lines(README.read_text(encoding="utf-8")) if not line.startswith("#")]
    assert commands[:2] == ["make demo", "make test"]


def test_the_makefile_has_both_targets_and_ci_runs_the_test_command() -> None:
    targets = set(re.findall(r"^([a-z-]+):", (REPO / "Makefile").read_text(encoding="utf-8"), flags=re.M))
    assert {"demo", "test"} <= targets
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^[^#\n]*\bmake test\b", ci, flags=re.M), ".ci/run must call the README's test command"
    for variable in ("FACILITY_TEST_REQUIRE_POSTGRES=1", "FACILITY_TEST_REQUIRE_BROWSER=1"):
        assert variable in ci


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_point_at_files_that_exist(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.exists():
            broken.append(target)
    assert not broken, f"{doc.relative_to(REPO)} links to missing files: {broken}"


def test_every_cli_command_the_readme_names_exists() -> None:
    from agent.cli import build_parser

    parser = build_parser()
    # argparse has no public API for its subcommands.
    sub = next(a for a in parser._actions if a.dest == "command")
    known = set(sub.choices)  # type: ignore[arg-type]
    text = README.read_text(encoding="utf-8")
    code = _code_lines(text) + re.findall(r"`([^`\n]+)`", text)
    named = {m for line in code for m in re.findall(r"facility-agent (?:--config \S+ )?([a-z][a-z-]+)", line)}
    assert named, "the README names no facility-agent command"
    assert named <= known, f"the README names commands the CLI doesn't have: {sorted(named - known)}"


def test_ci_script_is_valid_bash() -> None:
    result = subprocess.run(
        ["bash", "-n", str(REPO / ".ci" / "run")], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_the_systemd_steps_end_with_the_first_coordinator_account() -> None:
    """A deployer who follows the steps can sign in: the last one makes a coordinator."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### On a VM with systemd", 1)[1]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    steps = [line for line in block.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]
    assert "systemctl enable --now facility-agent" in "\n".join(steps)
    assert re.search(r"facility-agent\s.*user add \S+ --role coordinator", steps[-1]), steps[-1]


def test_the_screenshot_note_says_they_are_refreshed_only_when_asked() -> None:
    text = README.read_text(encoding="utf-8")
    shots = re.findall(r"\(docs/screenshots/([a-z-]+)\.png\)", text)
    for page in ("queue", "alert", "equipment", "restock"):
        assert f"{page}-phone" in shots and f"{page}-desktop" in shots, shots
    assert "FACILITY_UPDATE_SCREENSHOTS=1" in text and "refreshed only when asked" in text
    browser_test = (REPO / "tests" / "api" / "test_pages_phone.py").read_text(encoding="utf-8")
    assert 'os.environ.get("FACILITY_UPDATE_SCREENSHOTS") == "1"' in browser_test
