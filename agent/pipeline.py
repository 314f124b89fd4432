"""The pipeline: readings → bounded queue → rules engine → one transaction per batch → listeners.

One writer thread owns the rules engine and every alert write. People's actions (ack,
resolve, ...) run as commands on the same thread, in order with readings, so the engine and
storage never disagree and two people can't both resolve the same alert (ADR 0002).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.storage.alerts import AlertStore, AppliedTransition
from agent.storage.readings import write_readings
from agent.storage.receipts import write_receipts
from collectors.sink import Receipt
from rules.alerts import Transition
from rules.engine import Engine
from rules.reading import Reading

log = logging.getLogger(__name__)
T = TypeVar("T")

Listener = Callable[[list[AppliedTransition]], None]


class ReadingHook(Protocol):
    """Runs inside the batch's transaction before evaluation; may return derived readings
    (e.g. inventory turns a count into on-hand and days-of-supply readings)."""

    def __call__(self, session: Session, readings: Sequence[Reading]) -> Sequence[Reading]: ...


@dataclass
class CommandContext:
    """What a command sees on the writer thread."""

    engine: Engine
    session: Session
    alerts: AlertStore
    now: datetime
    applied: list[AppliedTransition] = field(default_factory=list)

    def apply(self, transitions: Sequence[Transition]) -> list[AppliedTransition]:
        done = self.alerts.apply(self.session, transitions)
        self.applied.extend(done)
        return done


@dataclass
class _Batch:
    readings: list[Reading]
    callbacks: list[Callable[[], None]]
    receipts: Sequence[Receipt] = ()


@dataclass
class _Command:
    fn: Callable[[CommandContext], Any]
    future: Future[Any]


_STOP = object()


class Pipeline:
    """Implements collectors.sink.ReadingSink."""

    def __init__(
        self,
        *,
        engine: Engine,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        batch_size: int = 1000,
        queue_size: int = 50_000,
        flush_interval: float = 0.2,
        retry_delay: float = 0.5,
    ) -> None:
        self.engine = engine
        self.sessions = sessions
        self.clock = clock
        self.alerts = AlertStore()
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry_delay = retry_delay
        self.queue_size = queue_size
        self._queue: queue.Queue[Any] = queue.Queue()
        self._queued_readings = 0
        self._lock = threading.Lock()
        self._space = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self.listeners: list[Listener] = []
        self.reading_hooks: list[ReadingHook] = []
        self.rejects: Counter[tuple[str, str]] = Counter()
        self.unknown_sinks: list[Callable[[str, str, str, datetime], None]] = []
        self.stats: Counter[str] = Counter()
        self.stored: Counter[str] = Counter()  # committed readings by source kind (mqtt, snmp, ...)
        self.last_batch_at: datetime | None = None
        self.full_since: datetime | None = None  # set while collectors wait for room (shown on /readyz)
        self.write_failing: str | None = None  # why storage refuses writes right now (shown on /readyz)

    # ------------------------------------------------------------------ lifecycle
    def restore(self) -> int:
        """Rebuild the engine's active alerts and silence clocks from storage (after a restart)."""
        from agent.storage.readings import load_latest

        with self.sessions() as session:
            restored = self.engine.restore(self.alerts.load_active(session))
            for row in load_latest(session):
                self.engine.restore_last_seen(row.subject, row.metric, row.ts)
        log.info("engine restored", extra={"active_alerts": restored})
        return restored

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="pipeline-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Flush everything queued, then stop the writer."""
        if self._thread is None:
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("pipeline writer did not stop within %.0fs; %d items still queued", timeout, self._queue.qsize())
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def depth(self) -> int:
        return self._queued_readings

    # ------------------------------------------------------------------ ReadingSink
    def submit(
        self,
        readings: Sequence[Reading],
        *,
        on_stored: Callable[[], None] | None = None,
        receipts: Sequence[Receipt] = (),
    ) -> None:
        if not readings and on_stored is None:
            return
        with self._space:
            # Bounded in readings, not items: a full queue makes the collector wait (back-pressure;
            # MQTT then leaves messages with the broker), it never drops.
            while self._queued_readings and self._queued_readings + len(readings) > self.queue_size:
                self.stats["submit_waits"] += 1
                if self.full_since is None:
                    self.full_since = self.clock()
                    log.warning(
                        "pipeline queue full: %d readings wait for storage; collectors are held back "
                        "(MQTT messages stay with the broker, unacknowledged) until storage catches up",
                        self._queued_readings,
                    )
                self._space.wait(timeout=1.0)
            self._queued_readings += len(readings)
        self._queue.put(_Batch(list(readings), [on_stored] if on_stored else [], receipts))

    def reject(self, *, source: str, reason: str, detail: str) -> None:
        # By the source's kind only ("mqtt", not "mqtt:<topic>"): a series per topic is unbounded.
        self.rejects[(source.split(":", 1)[0] or "unknown", reason)] += 1

    def unknown_source(self, *, source: str, key: str, payload: str, at: datetime) -> None:
        for sink in self.unknown_sinks:
            sink(source, key, payload, at)

    # ------------------------------------------------------------------ commands
    def call(self, fn: Callable[[CommandContext], T]) -> Future[T]:
        """Run fn on the writer thread in its own transaction; the future has its result or error."""
        future: Future[T] = Future()
        self._queue.put(_Command(fn, future))
        return future

    def tick(self, now: datetime | None = None) -> Future[list[AppliedTransition]]:
        moment = now or self.clock()
        return self.call(lambda ctx: ctx.apply(ctx.engine.tick(moment)))

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until everything submitted before this call is stored."""
        self.call(lambda ctx: None).result(timeout)

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        pending: list[_Batch] = []
        count = 0
        while True:
            try:
                item = self._queue.get(timeout=self.flush_interval if pending else None)
            except queue.Empty:
                item = None
            if isinstance(item, _Batch):
                pending.append(item)
                count += len(item.readings)
                # Drain what is already queued, up to a batch, without waiting.
                while count < self.batch_size:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(nxt, _Batch):
                        pending.append(nxt)
                        count += len(nxt.readings)
                    else:
                        self._write(pending)
                        pending, count = [], 0
                        if self._handle(nxt):
                            return
                        break
                if count >= self.batch_size or self._queue.empty():
                    self._write(pending)
                    pending, count = [], 0
                continue
            if pending:
                self._write(pending)
                pending, count = [], 0
            if item is not None and self._handle(item):
                return

    def _handle(self, item: Any) -> bool:
        """Run a command or stop; True means stop."""
        if item is _STOP:
            return True
        if isinstance(item, _Command):
            self._run_command(item)
        return False

    def _run_command(self, command: _Command) -> None:
        if not command.future.set_running_or_notify_cancel():
            return
        try:
            with self.sessions() as session:
                ctx = CommandContext(self.engine, session, self.alerts, self.clock())
                result = command.fn(ctx)
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - the caller gets the error through the future
            # A failed command may have moved the engine; rebuild from storage so they agree again.
            self._resync_after_failure()
            command.future.set_exception(exc)
            return
        command.future.set_result(result)
        if ctx.applied:
            self._emit(ctx.applied)

    def _write(self, batches: list[_Batch]) -> None:
        readings = [r for b in batches for r in b.readings]
        callbacks = [cb for b in batches for cb in b.callbacks]
        receipts = [r for b in batches for r in b.receipts]
        attempt = 0
        while True:
            try:
                applied = self._write_once(readings, receipts)
                break
            except (OperationalError, DBAPIError) as exc:
                attempt += 1
                if not _transient(exc):
                    applied = self._write_isolating(readings, receipts)
                    break
                delay = min(self.retry_delay * 2 ** min(attempt, 6), 30.0)
                if self.write_failing is None:
                    self.write_failing = f"writes failing since {self.clock().isoformat()}: {_storage_problem(exc)}"
                if _storage_problem(exc) == "disk full":
                    log.error(
                        "storage is full: %d readings wait in memory, unacknowledged; free disk space "
                        "(retrying in %.1fs, attempt %d)", len(readings), delay, attempt,
                    )
                log.warning("storage write failed, retrying in %.1fs (attempt %d): %s", delay, attempt, exc)
                time.sleep(delay)
        if self.write_failing is not None:
            log.warning("storage writes work again (%s)", self.write_failing)
            self.write_failing = None
        with self._space:
            self._queued_readings -= len(readings)
            self._space.notify_all()
            if self.full_since is not None and self._queued_readings <= self.queue_size // 2:
                log.warning("pipeline queue has room again (full since %s)", self.full_since.isoformat())
                self.full_since = None
        self.stats["readings_stored"] += len(readings)
        self.last_batch_at = self.clock()
        for cb in callbacks:
            try:
                cb()
            except Exception:  # noqa: BLE001 - a collector's ack callback must not stop the writer
                log.exception("on_stored callback failed")
        if applied:
            self._emit(applied)

    def _write_once(self, readings: list[Reading], receipts: Sequence[Receipt] = ()) -> list[AppliedTransition]:
        with self.sessions() as session:
            derived: list[Reading] = []
            for hook in self.reading_hooks:
                derived.extend(hook(session, readings))
            # Derived readings first: "toner low and no cartridge" must open before the plain
            # "toner low" of the same reading is evaluated, so that one is held back (supersedes).
            everything = derived + readings if derived else readings
            transitions = self.engine.evaluate_many(everything)
            write_readings(session, everything)
            write_receipts(session, receipts, self.clock())
            applied = self.alerts.apply(session, transitions)
            session.commit()
        for reading in everything:
            self.stored[reading.source.split(":", 1)[0] or "unknown"] += 1
        return applied

    def _write_isolating(self, readings: list[Reading], receipts: Sequence[Receipt]) -> list[AppliedTransition]:
        """A batch that storage refuses for good: store readings one by one, count the few it refuses."""
        self._resync_after_failure()
        applied: list[AppliedTransition] = []
        for reading in readings:
            try:
                applied.extend(self._write_once([reading]))
            except DBAPIError as exc:
                self.stats["readings_refused_by_storage"] += 1
                self.rejects[("storage", "refused")] += 1
                log.error("storage refused a reading %s/%s: %s", reading.subject, reading.metric, exc.orig)
                self._resync_after_failure()
        if receipts:  # after the readings they stand for: a crash in between gives a copy, not a loss
            with self.sessions() as session:
                write_receipts(session, receipts, self.clock())
                session.commit()
        return applied

    def _resync_after_failure(self) -> None:
        try:
            with self.sessions() as session:
                snapshots = self.alerts.load_active(session)
            self.engine.clear_states()  # rebuild from the source of truth
            self.engine.restore(snapshots)
        except Exception:  # noqa: BLE001
            log.exception("could not resynchronise the engine with storage")

    def _emit(self, applied: list[AppliedTransition]) -> None:
        for listener in self.listeners:
            try:
                listener(applied)
            except Exception:  # noqa: BLE001 - a broken notifier must not stop storage
                log.exception("transition listener failed")


def _storage_problem(exc: DBAPIError) -> str:
    """A short, fixed label for people (no raw driver text on /readyz)."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "full" in text or "no space" in text:
        return "disk full"
    if "locked" in text or "busy" in text:
        return "database locked"
    return "database unavailable"


def _transient(exc: DBAPIError) -> bool:
    """Connection drops, locks and timeouts are worth retrying; constraint and data errors are not."""
    if isinstance(exc, OperationalError):
        return True
    return bool(getattr(exc, "connection_invalidated", False))
