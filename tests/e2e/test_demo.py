"""`facility-agent demo` as a new user meets it, and as an operator stops it.

The first test takes a fresh `git clone` of this repository (committed files only), runs the README's
first command in it (`make demo`: a fresh virtual environment on Debian's python3, `pip install -e .`
from the package index, then the demo) with no mosquitto on PATH, signs in with the credentials the
demo prints, and waits for the three demo alerts in the API's queue; then it presses Ctrl-C (SIGINT
to the foreground process group, as a terminal does) and checks that every process the demo
started is gone. The second runs the installed command with mosquitto, its default port taken,
and stops it with SIGTERM.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agent.commands.demo import register  # noqa: F401 - the command must import in this environment
from agent.demo.clinic import DemoError, DemoOptions, api_port, demo_config_text, prepare_data_dir
from agent.demo.publishers import clinic_devices, ramp, steps
from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
ALERTS_WITHIN_S = 60.0  # the promise, counted from the demo's first line
INSTALL_WITHIN_S = 420.0  # venv + pip install from the index; generous for a cold pip cache
FALLBACK_COMMAND = "make demo"


# ---------------------------------------------------------------------- processes
def _stat(pid: int) -> tuple[int, int, str] | None:
    """(ppid, pgid, state) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[1]), int(fields[2]), fields[0]


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        info = _stat(pid)
        if info is not None:
            children.setdefault(info[0], []).append(pid)
    found: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    info = _stat(pid)
    return info is not None and info[2] != "Z"


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class DemoRun:
    """The demo as a child process: its output in lines, and every process it ever had below it."""

    def __init__(self, args: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.seen: dict[int, str] = {}
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, like a job in a terminal
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def snapshot(self) -> None:
        for pid in descendants(self.process.pid) | {self.process.pid}:
            self.seen.setdefault(pid, cmdline(pid))

    def output(self) -> str:
        return "\n".join(self.lines)

    def find(self, pattern: str) -> re.Match[str] | None:
        for line in list(self.lines):
            match = re.search(pattern, line)
            if match:
                return match
        return None

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        def seen_or_exited() -> bool:
            self.snapshot()
            return self.find(pattern) is not None or self.process.poll() is not None

        try:
            wait_until(seen_or_exited, timeout=timeout, interval=0.2, what=f"a line matching {pattern!r}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{self.output()[-6000:]}") from None
        match = self.find(pattern)
        if match is None:
            raise AssertionError(
                f"the demo exited ({self.process.returncode}) before printing {pattern!r}:\n{self.output()[-6000:]}"
            )
        return match

    def kill_leftovers(self) -> None:
        if self.process.poll() is None:
            with _suppress():
                os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.seen:
            if alive(pid):
                with _suppress():
                    os.kill(pid, signal.SIGKILL)
        with _suppress():
            self.process.wait(10)


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is not None and issubclass(exc[0], (OSError, subprocess.TimeoutExpired))  # type: ignore[arg-type]


# ---------------------------------------------------------------------- the API as a person uses it
def sign_in(base: str, username: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=5.0)
    page = client.get("/login")
    page.raise_for_status()
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf, page.text[:2000]
    response = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf.group(1), "next": "/"}
    )
    assert response.status_code == 303, f"sign-in with the printed credentials failed: {response.status_code}"
    return client


def demo_alerts_in_queue(client: httpx.Client) -> dict[str, object]:
    queue = client.get("/api/v1/queue", params={"limit": 200})
    queue.raise_for_status()
    body = queue.json()
    found: dict[str, object] = {}
    for item in body["items"]:
        if item["rule_id"].startswith("printer-toner-low"):
            found["low toner"] = item
        elif item["rule_id"] == "vaccine-fridge-temperature" and item["subject"] == "fridge-pharmacy-2":
            found["fridge excursion"] = item
        elif item["rule_id"].startswith("supply-low."):
            found["low-supply alert"] = item
    for line in body["low_supplies"]:
        if line["sku"] == "gloves-nitrile-m":
            found["low-supply line"] = line
    return found


EXPECTED = {"low toner", "fridge excursion", "low-supply alert", "low-supply line"}


def wait_for_demo_alerts(run: DemoRun, *, started_at: float) -> dict[str, object]:
    url = run.wait_for(r"Open (http://\S+?)/?(\s|$)", timeout=ALERTS_WITHIN_S).group(1)
    user, password = run.wait_for(r"Sign in as: (\S+) / (\S+)", timeout=5).groups()
    client = sign_in(url, user, password)
    seen: dict[str, object] = {}

    def all_there_or_exited() -> bool:
        run.snapshot()
        if run.process.poll() is not None:
            return True
        seen.clear()
        seen.update(demo_alerts_in_queue(client))
        return set(seen) >= EXPECTED

    left = max(1.0, started_at + ALERTS_WITHIN_S - time.monotonic())
    try:
        wait_until(all_there_or_exited, timeout=left, interval=1.0)
    except AssertionError:
        raise AssertionError(
            f"after {ALERTS_WITHIN_S:.0f}s the queue has {sorted(seen)}, not {sorted(EXPECTED)}:\n{run.output()[-6000:]}"
        ) from None
    finally:
        client.close()
    assert run.process.poll() is None, f"the demo exited ({run.process.returncode}):\n{run.output()[-6000:]}"
    return seen


def assert_all_gone(run: DemoRun) -> None:
    def gone() -> bool:
        return not [pid for pid in run.seen if alive(pid)]

    try:
        wait_until(gone, timeout=15, interval=0.2)
    except AssertionError:
        left = {pid: run.seen[pid] for pid in run.seen if alive(pid)}
        raise AssertionError(f"processes left behind: {left}\n{run.output()[-4000:]}") from None


def assert_temp_dirs_removed(run: DemoRun) -> None:
    """snmpsim's data lives in a temp dir of its own, which must go with it."""
    dirs = {
        Path(m.group(1)).parent for cmd in run.seen.values() if (m := re.search(r"--data-dir=(\S+)", cmd))
    }
    assert dirs, run.seen
    assert not [d for d in dirs if d.exists()], dirs


# ---------------------------------------------------------------------- environment of a new user
def path_without(program: str) -> str:
    """This PATH with the directories that hold `program` left out, plus the usual system ones."""
    dirs = os.environ.get("PATH", "").split(os.pathsep) + ["/usr/local/bin", "/usr/bin", "/bin"]
    venv_bin = str(Path(sys.executable).parent)
    kept: list[str] = []
    for folder in dirs:
        if not folder or folder in kept or folder == venv_bin or (Path(folder) / program).exists():
            continue
        kept.append(folder)
    return os.pathsep.join(kept)


def new_user_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME") and not key.startswith("FACILITY_")
    }
    env.update(extra)
    return env


def readme_first_command(readme: Path) -> str:
    """The first command of the README's first code block that runs the demo (else `make demo`)."""
    if not readme.exists():
        return FALLBACK_COMMAND
    blocks = re.findall(r"```[a-z]*\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)
    for block in blocks:
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ").strip()
            if line and not line.startswith("#") and "demo" in line:
                return line
    return FALLBACK_COMMAND


@pytest.fixture
def world_readable_tmp() -> Iterator[Path]:
    # As root, snmpsim drops to `nobody`, which must read the new venv: pytest's tmp_path is 0700.
    path = Path(tempfile.mkdtemp(prefix="facility-demo-e2e-", dir="/tmp"))
    os.chmod(path, 0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------- the tests
@pytest.mark.slow
@pytest.mark.timeout(INSTALL_WITHIN_S + 180)
def test_readme_demo_in_a_fresh_clone_without_mosquitto(world_readable_tmp: Path) -> None:
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("needs git and make")
    clone = world_readable_tmp / "facility-agent"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    command = readme_first_command(clone / "README.md")
    assert "demo" in command
    env = new_user_env(PATH=path_without("mosquitto"))
    assert shutil.which("mosquitto", path=env["PATH"]) is None

    began = time.monotonic()
    run = DemoRun(["bash", "-c", command], cwd=clone, env=env)
    try:
        run.wait_for(r"Starting the demo clinic", timeout=INSTALL_WITHIN_S)
        started_at = time.monotonic()
        data_dir = run.wait_for(r"its data is in (\S+)", timeout=5).group(1)
        assert Path(data_dir).is_relative_to(clone), "the demo should keep its data in the clone"
        run.wait_for(r"MQTT broker \(amqtt", timeout=ALERTS_WITHIN_S)
        seen = wait_for_demo_alerts(run, started_at=started_at)
        # The code that ran is the clone's, installed in the clone's own virtual environment.
        assert any(str(clone / ".venv") in cmd for cmd in run.seen.values()), run.seen
        assert "Ward 3" in str(seen["low toner"])

        alerts_at = time.monotonic()
        os.killpg(run.process.pid, signal.SIGINT)  # Ctrl-C in the terminal
        run.process.wait(60)
        print(
            f"\n{command!r}: install {started_at - began:.1f}s, demo alerts {alerts_at - started_at:.1f}s "
            f"after its first line, stop {time.monotonic() - alerts_at:.1f}s"
        )
        run._reader.join(10)
        assert run.find(r"^Stopped\.$"), run.output()[-4000:]
        assert "Traceback" not in run.output(), run.output()[-6000:]
        assert_all_gone(run)
        assert_temp_dirs_removed(run)
        left = [pid for pid in _all_pids() if str(clone) in cmdline(pid) and alive(pid)]
        assert not left, {pid: cmdline(pid) for pid in left}
    finally:
        run.kill_leftovers()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_installed_demo_with_mosquitto_port_taken_and_sigterm(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("facility-agent")
    if not command.exists():
        pytest.skip("facility-agent is not installed in this environment")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        run = DemoRun(
            [str(command), "demo", "--port", str(taken), "--data-dir", str(tmp_path / "demo-data")],
            cwd=tmp_path,
            env=new_user_env(),
        )
        try:
            run.wait_for(r"Starting the demo clinic", timeout=60)
            started_at = time.monotonic()
            if shutil.which("mosquitto"):
                run.wait_for(r"MQTT broker \(mosquitto\)", timeout=30)
            run.wait_for(rf"port {taken} is taken", timeout=30)
            wait_for_demo_alerts(run, started_at=started_at)

            os.kill(run.process.pid, signal.SIGTERM)  # as systemd or `kill` would
            assert run.process.wait(60) == 0, run.output()[-4000:]
            run._reader.join(10)
            assert run.find(r"^Stopped\.$"), run.output()[-4000:]
            assert "Traceback" not in run.output(), run.output()[-6000:]
            assert len(run.seen) >= 3, run.seen  # the agent, snmpsim and mosquitto at least
            assert_all_gone(run)
            assert_temp_dirs_removed(run)
        finally:
            run.kill_leftovers()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("after", [r"SNMP simulator", r"MQTT broker", r"agent: SQLite database ready"])
def test_ctrl_c_during_start_up_leaves_nothing_behind(tmp_path: Path, after: str) -> None:
    command = Path(sys.executable).with_name("facility-agent")
    if not command.exists():
        pytest.skip("facility-agent is not installed in this environment")
    run = DemoRun(
        [str(command), "demo", "--port", "0", "--data-dir", str(tmp_path / "demo-data")],
        cwd=tmp_path,
        env=new_user_env(),
    )
    try:
        run.wait_for(after, timeout=60)
        os.killpg(run.process.pid, signal.SIGINT)
        assert run.process.wait(60) == 0, run.output()[-4000:]
        run._reader.join(10)
        assert run.find(r"^Stopped\.$"), run.output()[-4000:]
        assert "Traceback" not in run.output(), run.output()[-6000:]
        assert len(run.seen) >= 2, run.seen  # the demo and snmpsim at least
        assert_all_gone(run)
        assert_temp_dirs_removed(run)
    finally:
        run.kill_leftovers()


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGHUP], ids=["SIGKILL", "SIGHUP"])
def test_killed_or_hung_up_demo_leaves_nothing_behind(tmp_path: Path, how: signal.Signals) -> None:
    """SIGKILL: the children go by their parent-death signal; SIGHUP (terminal closed): as Ctrl-C."""
    command = Path(sys.executable).with_name("facility-agent")
    if not command.exists():
        pytest.skip("facility-agent is not installed in this environment")
    run = DemoRun(
        [str(command), "demo", "--port", "0", "--data-dir", str(tmp_path / "demo-data")],
        cwd=tmp_path,
        env=new_user_env(),
    )
    try:
        run.wait_for(r"Press Ctrl-C to stop", timeout=90)
        run.snapshot()
        os.kill(run.process.pid, how)
        run.process.wait(60)
        assert len(run.seen) >= 2, run.seen
        assert_all_gone(run)
        assert_temp_dirs_removed(run)
    finally:
        run.kill_leftovers()


# ---------------------------------------------------------------------- the parts, quickly
def test_demo_config_is_a_valid_agent_config(tmp_path: Path) -> None:
    from agent.config import load_config_text

    tmp_path = tmp_path / "a folder: with #odd 'name'"
    text = demo_config_text(
        data_dir=tmp_path,
        api_port=8080,
        snmp_port=1161,
        mqtt_port=1883,
        mqtt_protocol="3.1.1",
        log_level="warning",
    )
    config = load_config_text(text)
    kinds = {e.kind for e in config.equipment}
    assert {"printer", "ups", "fridge"} <= kinds
    skus = {s.sku for s in config.supplies}
    published = {d.topic.split("/")[3] for d in clinic_devices(config.site.id) if "/supplies/" in d.topic}
    assert published <= skus
    fridges = {d.topic.split("/")[3] for d in clinic_devices(config.site.id) if "/equipment/" in d.topic}
    assert fridges <= {e.id for e in config.equipment}
    assert config.data_dir() == tmp_path
    assert config.api.session_secret_file == tmp_path / "session-secret"
    written = tmp_path.parent / "demo-config.yaml"
    written.write_text(text)
    from agent.cli import main

    assert main(["check-config", str(written)]) == 0


def test_data_dir_that_the_demo_did_not_make_is_refused(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(DemoError, match="did not write"):
        prepare_data_dir(DemoOptions(data_dir=tmp_path))
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_demo_data_dir_starts_afresh_unless_kept(tmp_path: Path) -> None:
    data = prepare_data_dir(DemoOptions(data_dir=tmp_path / "d"))
    (data / "facility.db").write_text("old")
    prepare_data_dir(DemoOptions(data_dir=data, keep_data=True))
    assert (data / "facility.db").exists()
    prepare_data_dir(DemoOptions(data_dir=data))
    assert not (data / "facility.db").exists()


def test_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        port, as_asked = api_port(taken)
    assert not as_asked and port != taken


def test_scripts_cross_their_thresholds() -> None:
    warming = ramp(7.0, 0.3, 9.4)
    assert warming(0) < 8 < warming(5) and warming(1000) == 9.4
    shelf = steps(24, 3.0, 18)
    assert shelf(0) == 24 and shelf(12) == 20 and shelf(1000) == 18
