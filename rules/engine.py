"""The rules engine: a pure state machine from (rules, reading or tick, prior state, now) to transitions.

It never reads the clock or performs I/O. The agent owns one Engine, feeds it readings in
order, calls ``tick(now)`` on a schedule for time-based changes (hold times, silence,
escalation, recovery windows, flapping), and applies the returned transitions to storage.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from rules.alerts import (
    ActionRefused,
    AlertSnapshot,
    AlertStatus,
    ResolveReason,
    Transition,
    TransitionKind,
)
from rules.messages import render_message
from rules.model import INF, ConditionKind, Rule, Subject
from rules.reading import Reading, Value
from rules.severity import Severity

Identity = tuple[str, str]  # (rule id, subject)
_NONE: tuple[Transition, ...] = ()


@dataclass(frozen=True, slots=True)
class EngineSettings:
    ack_recovery: timedelta = timedelta(minutes=10)  # an ack survives a recovery this short
    flap_threshold: int = 4  # more opens than this within flap_window → flapping
    flap_window: timedelta = timedelta(hours=1)
    flap_settle: timedelta = timedelta(minutes=30)  # quiet this long → settled
    escalation: Mapping[str, timedelta] = field(default_factory=dict)  # team → escalate after
    escalation_clock: Mapping[str, Callable[[datetime, datetime], timedelta]] = field(default_factory=dict)  # team → answered time
    max_escalations: int = 2


class _State:
    """Mutable engine-side state of one active alert."""

    __slots__ = (
        "rule",
        "subject",
        "status",
        "severity",
        "since",
        "opened_at",
        "acknowledged_at",
        "first_value",
        "last_value",
        "worst_value",
        "worst_badness",
        "last_seen_at",
        "occurrences",
        "message",
        "unit",
        "cleared_since",
        "escalation_level",
        "flapping",
        "metric",
    )

    def __init__(self, rule: Rule, subject: Subject, value: Value, at: datetime, unit: str, metric: str = "") -> None:
        self.rule = rule
        self.metric = metric or rule.metric
        self.subject = subject
        self.status = AlertStatus.PENDING
        self.severity = rule.severity
        self.since = at
        self.opened_at: datetime | None = None
        self.acknowledged_at: datetime | None = None
        self.first_value: Value = value
        self.last_value: Value = value
        self.worst_value: Value = value
        self.worst_badness = _badness(rule, value)
        self.last_seen_at = at
        self.occurrences = 1
        self.unit = unit
        self.message = render_message(rule, subject, value, unit, self.metric)
        self.cleared_since: datetime | None = None
        self.escalation_level = 0
        self.flapping = False

    def snapshot(self) -> AlertSnapshot:
        return AlertSnapshot(
            rule_id=self.rule.id,
            subject=self.subject.id,
            status=self.status,
            severity=self.severity,
            since=self.since,
            opened_at=self.opened_at,
            acknowledged_at=self.acknowledged_at,
            first_value=self.first_value,
            last_value=self.last_value,
            worst_value=self.worst_value,
            last_seen_at=self.last_seen_at,
            occurrences=self.occurrences,
            message=self.message,
            team=self.rule.team or self.subject.team,
            cleared_since=self.cleared_since,
            escalation_level=self.escalation_level,
            flapping=self.flapping,
            subject_kind=self.subject.subject_kind,
            metric=self.metric,
        )

    def observe(self, value: Value, at: datetime, unit: str, firing: bool = True) -> bool:
        """Record a value; True when what storage shows changed. The message follows firing values only."""
        changed = value != self.last_value
        self.last_value = value
        self.last_seen_at = at
        if unit:
            self.unit = unit
        badness = _badness(self.rule, value)
        if badness > self.worst_badness:
            self.worst_badness = badness
            self.worst_value = value
            changed = True
        if changed and firing:  # a clearing value never rewrites what the alert says
            self.message = render_message(self.rule, self.subject, value, self.unit, self.metric)
        return changed


def _badness(rule: Rule, value: Value) -> float:
    return rule.badness(value) if isinstance(value, float) else 0.0


@dataclass(slots=True)
class _IndexEntry:
    rules: tuple[Rule, ...]
    absent_rules: tuple[Rule, ...]
    # Fast path: when only threshold rules apply and the subject has no active alert, a value
    # strictly inside (quiet_low, quiet_high) can't change anything.
    fast: bool = False
    quiet_low: float = 0.0
    quiet_high: float = 0.0


class Engine:
    """Evaluates readings against rules and keeps the state of every active alert."""

    def __init__(
        self,
        rules: Sequence[Rule],
        subjects: Mapping[str, Subject] | None = None,
        *,
        settings: EngineSettings | None = None,
        started_at: datetime | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        self._states: dict[Identity, _State] = {}
        self._active_subjects: dict[str, int] = {}  # subject → number of active alerts
        self._rates: dict[Identity, deque[tuple[datetime, float]]] = {}
        self._absent_seen: dict[Identity, datetime] = {}
        self._opens: dict[Identity, deque[datetime]] = {}
        self._flapping: dict[Identity, tuple[datetime, AlertSnapshot]] = {}
        self._superseded: dict[Identity, int] = {}  # (rule id, subject) → open alerts replacing it
        self._superseding: set[Identity] = set()
        self._started_at = started_at
        self._load(rules, subjects or {})

    # ----------------------------------------------------------------- configuration
    def _load(self, rules: Sequence[Rule], subjects: Mapping[str, Subject]) -> None:
        self._rules = {rule.id: rule for rule in rules}
        self._subjects = dict(subjects)
        self._by_metric_id: dict[tuple[str, str], list[Rule]] = {}
        self._by_metric: dict[str, list[Rule]] = {}
        self._patterns: list[Rule] = []
        for rule in rules:
            if rule.metric_is_pattern:
                self._patterns.append(rule)
            elif rule.match.ids:
                for subject_id in rule.match.ids:
                    self._by_metric_id.setdefault((rule.metric, subject_id), []).append(rule)
            else:
                self._by_metric.setdefault(rule.metric, []).append(rule)
        self._index: dict[tuple[str, str], _IndexEntry] = {}
        self._absent_rules = [r for r in rules if r.kind is ConditionKind.ABSENT]
        self._derived: dict[str, Rule] = {}

    def _concrete(self, rule: Rule, metric: str) -> Rule:
        """A pattern rule (``toner.*.pct``) watches each metric it matches as its own alert:
        black toner at 5 % and cyan at 66 % are two facts, not one alert opening and clearing.
        Silence rules (ABSENT) stay one per subject: any metric counts as being heard from."""
        if not rule.metric_is_pattern or rule.kind is ConditionKind.ABSENT:
            return rule
        rule_id = f"{rule.id}[{metric}]"
        found = self._derived.get(rule_id)
        if found is None:
            found = replace(rule, id=rule_id, metric=metric)
            self._derived[rule_id] = found
        return found

    def rule_by_id(self, rule_id: str) -> Rule | None:
        """A configured rule, or the per-metric rule derived from a pattern rule ("id[metric]")."""
        found = self._rules.get(rule_id) or self._derived.get(rule_id)
        if found is None and rule_id.endswith("]") and "[" in rule_id:
            base_id, metric = rule_id[:-1].split("[", 1)
            base = self._rules.get(base_id)
            if base is not None and base.matches_metric(metric):
                found = self._concrete(base, metric)
        return found

    def replace_rules(self, rules: Sequence[Rule], subjects: Mapping[str, Subject] | None = None) -> None:
        """Swap in new rules (e.g. a changed reorder point). Active alerts of kept rules stay."""
        self._load(rules, self._subjects if subjects is None else subjects)
        for identity, state in list(self._states.items()):
            new_rule = self.rule_by_id(identity[0])
            if new_rule is not None:
                state.rule = new_rule
                state.subject = self._subjects.get(state.subject.id, state.subject)

    @property
    def rules(self) -> Mapping[str, Rule]:
        return self._rules

    def subject(self, subject_id: str, subject_kind: str = "equipment") -> Subject:
        found = self._subjects.get(subject_id)
        return found if found is not None else Subject(id=subject_id, subject_kind=subject_kind)

    def _entry(self, metric: str, subject_id: str, subject_kind: str) -> _IndexEntry:
        subject = self.subject(subject_id, subject_kind)
        candidates = list(self._by_metric_id.get((metric, subject_id), ()))
        candidates += [r for r in self._by_metric.get(metric, ()) if r.match.matches(subject)]
        candidates += [
            self._concrete(r, metric)
            for r in self._patterns
            if r.matches_metric(metric)
            and r.match.matches(subject)
            and (not r.match.ids or subject_id in r.match.ids)
        ]
        candidates = [r for r in candidates if r.match.matches(subject)]
        # Rules that supersede others go first: at zero on hand, "out of stock" opens and "low" is
        # then held back, rather than both opening; when it clears, "low" may open at once.
        live = tuple(sorted((r for r in candidates if r.kind is not ConditionKind.ABSENT), key=lambda r: not r.supersedes))
        entry = _IndexEntry(rules=live, absent_rules=tuple(r for r in candidates if r.kind is ConditionKind.ABSENT))
        if not entry.absent_rules and all(r.kind is ConditionKind.THRESHOLD for r in live):
            entry.fast = True
            entry.quiet_low = max((r.fire_low for r in live), default=-INF)
            entry.quiet_high = min((r.fire_high for r in live), default=INF)
        self._index[(metric, subject_id)] = entry
        return entry

    def _add_state(self, identity: Identity, state: _State) -> None:
        if identity not in self._states:
            self._active_subjects[identity[1]] = self._active_subjects.get(identity[1], 0) + 1
        self._states[identity] = state

    def _drop_state(self, identity: Identity) -> None:
        state = self._states.pop(identity)
        if identity in self._superseding:
            self._superseding.discard(identity)
            for rule_id in state.rule.supersedes:
                key = (rule_id, identity[1])
                left = self._superseded.get(key, 0) - 1
                if left > 0:
                    self._superseded[key] = left
                else:
                    self._superseded.pop(key, None)
        left = self._active_subjects[identity[1]] - 1
        if left:
            self._active_subjects[identity[1]] = left
        else:
            del self._active_subjects[identity[1]]

    def clear_states(self) -> None:
        """Forget every active alert (before restoring from storage again)."""
        self._states.clear()
        self._active_subjects.clear()
        self._superseded.clear()
        self._superseding.clear()

    # ----------------------------------------------------------------- readings
    def evaluate(self, reading: Reading) -> Sequence[Transition]:
        """Transitions caused by one reading, in order. Most readings cause none."""
        entry = self._index.get((reading.metric, reading.subject))
        if entry is None:
            entry = self._entry(reading.metric, reading.subject, reading.subject_kind)
        if entry.fast and reading.subject not in self._active_subjects:
            value = reading.value
            if type(value) is not float or entry.quiet_low < value < entry.quiet_high:
                return _NONE
        out: list[Transition] | None = None
        if entry.absent_rules:
            out = []
            for rule in entry.absent_rules:
                self._absent_heard(rule, reading, out)
        value = reading.value
        for rule in entry.rules:
            identity = (rule.id, reading.subject)
            state = self._states.get(identity)
            kind = rule.kind
            if kind is ConditionKind.THRESHOLD:
                if type(value) is not float:
                    continue  # a state ("some_remaining", "unknown") never trips a numeric rule
                if state is None:
                    if not rule.fires(value):
                        continue
                    firing, cleared = True, False
                else:
                    firing = rule.fires(value)
                    cleared = not firing and rule.clear_low <= value <= rule.clear_high
            elif kind is ConditionKind.EQUALS:
                if type(value) is not str:
                    continue
                firing = value in rule.states
                cleared = not firing
                if state is None and not firing:
                    continue
            else:  # RATE
                rate = self._rate(rule, identity, reading)
                if rate is None:
                    continue
                firing = rate > rule.rate_per_minute_above or rate < rule.rate_per_minute_below
                cleared = not firing
                if state is None and not firing:
                    continue
                value = rate
            if out is None:
                out = []
            self._step(rule, identity, state, reading, value, firing, cleared, out)
            value = reading.value
        return out if out else _NONE

    def evaluate_many(self, readings: Iterable[Reading]) -> list[Transition]:
        out: list[Transition] = []
        for reading in readings:
            out.extend(self.evaluate(reading))
        return out

    def _rate(self, rule: Rule, identity: Identity, reading: Reading) -> float | None:
        if type(reading.value) is not float:
            return None
        window = self._rates.setdefault(identity, deque())
        window.append((reading.ts, reading.value))
        horizon = reading.ts - rule.window
        while window and window[0][0] < horizon:
            window.popleft()
        first_ts, first_value = window[0]
        minutes = (reading.ts - first_ts).total_seconds() / 60.0
        if minutes < rule.window.total_seconds() / 60.0 / 4:
            return None  # too short a span to call it a trend
        return (reading.value - first_value) / minutes

    def _step(
        self,
        rule: Rule,
        identity: Identity,
        state: _State | None,
        reading: Reading,
        value: Value,
        firing: bool,
        cleared: bool,
        out: list[Transition],
    ) -> None:
        at = reading.ts
        if state is None:
            if firing:
                self._start(rule, identity, value, reading, out)
            return
        if at < state.last_seen_at:
            return  # out of order (a replayed backlog): storage keeps it, state doesn't move back
        changed = state.observe(value, at, reading.unit, firing)
        if state.status is AlertStatus.PENDING:
            if cleared:
                self._cancel(identity, state, at, out)
            elif at - state.since >= rule.hold:
                self._open(identity, state, state.since + rule.hold if rule.hold else at, out)
                self._maybe_raise(state, value, at, out)
            elif changed:
                out.append(
                    self._transition(TransitionKind.UPDATED, state, at, AlertStatus.PENDING, notify=False)
                )
            return
        if state.cleared_since is not None:  # acknowledged and recovering
            if firing:
                state.cleared_since = None
                state.occurrences += 1
                out.append(self._transition(TransitionKind.RELAPSED, state, at, state.status, notify=False))
                self._maybe_raise(state, value, at, out)
            elif cleared and at - state.cleared_since >= self.settings.ack_recovery:
                self._resolve(identity, state, at, out)
            return
        if cleared:
            if state.status is AlertStatus.ACKNOWLEDGED and self.settings.ack_recovery > timedelta(0):
                state.cleared_since = at
                out.append(self._transition(TransitionKind.RECOVERING, state, at, state.status, notify=False))
            else:
                self._resolve(identity, state, at, out)
            return
        if firing and self._maybe_raise(state, value, at, out):
            return
        if changed:
            out.append(self._transition(TransitionKind.UPDATED, state, at, state.status, notify=False))

    def _start(self, rule: Rule, identity: Identity, value: Value, reading: Reading, out: list[Transition]) -> None:
        if identity in self._superseded:
            return  # an open alert on this subject already says this, and more
        at = reading.ts
        subject = self.subject(reading.subject, reading.subject_kind)
        state = _State(rule, subject, value, at, reading.unit, reading.metric)
        self._add_state(identity, state)
        if rule.hold > timedelta(0):
            out.append(self._transition(TransitionKind.PENDING, state, at, None, notify=False))
            return
        self._open(identity, state, at, out, previous=None)
        self._maybe_raise(state, value, at, out, opening=True)

    def _open(
        self,
        identity: Identity,
        state: _State,
        at: datetime,
        out: list[Transition],
        previous: AlertStatus | None = AlertStatus.PENDING,
    ) -> None:
        state.status = AlertStatus.OPEN
        state.opened_at = at
        opens = self._opens.setdefault(identity, deque())
        opens.append(at)
        while opens and opens[0] < at - self.settings.flap_window:
            opens.popleft()
        if len(opens) > self.settings.flap_threshold:
            state.flapping = True
        state.severity = max(state.severity, _critical_if(state.rule, state.last_value))
        out.append(self._transition(TransitionKind.OPENED, state, at, previous, notify=True))
        if state.rule.supersedes:
            self._supersede(identity, state, at, out)
        if state.flapping and identity not in self._flapping:
            out.append(self._transition(TransitionKind.FLAPPING, state, at, AlertStatus.OPEN, notify=False))
        if state.flapping:
            self._flapping[identity] = (at, state.snapshot())

    def _supersede(self, identity: Identity, state: _State, at: datetime, out: list[Transition] | None) -> None:
        """This alert replaces others on its subject: resolve them (out is None: restoring) and
        hold them back while it is active."""
        if identity in self._superseding:
            return
        self._superseding.add(identity)
        subject = identity[1]
        for rule_id in state.rule.supersedes:
            key = (rule_id, subject)
            self._superseded[key] = self._superseded.get(key, 0) + 1
            replaced = self._states.get(key)
            if replaced is None or out is None:
                continue
            if replaced.status is AlertStatus.PENDING:
                self._cancel(key, replaced, at, out)
            else:
                self._resolve(
                    key, replaced, at, out, reason=ResolveReason.SUPERSEDED, comment=f"replaced by {state.rule.id}"
                )

    def _maybe_raise(
        self, state: _State, value: Value, at: datetime, out: list[Transition], opening: bool = False
    ) -> bool:
        if opening or state.status is AlertStatus.PENDING:
            return False
        target = _critical_if(state.rule, value)
        if target <= state.severity:
            return False
        state.severity = target
        out.append(self._transition(TransitionKind.SEVERITY_RAISED, state, at, state.status, notify=True))
        return True

    def _cancel(self, identity: Identity, state: _State, at: datetime, out: list[Transition]) -> None:
        self._drop_state(identity)
        out.append(self._transition(TransitionKind.CANCELLED, state, at, AlertStatus.PENDING, notify=False))

    def _resolve(
        self,
        identity: Identity,
        state: _State,
        at: datetime,
        out: list[Transition],
        *,
        actor: str = "system",
        reason: ResolveReason = ResolveReason.CLEARED,
        comment: str = "",
    ) -> None:
        previous = state.status
        self._drop_state(identity)
        state.status = AlertStatus.RESOLVED
        state.cleared_since = None
        transition = self._transition(
            TransitionKind.RESOLVED,
            state,
            at,
            previous,
            notify=True,
            actor=actor,
            reason=reason,
            comment=comment,
        )
        out.append(transition)
        if identity in self._flapping:
            self._flapping[identity] = (at, transition.alert)

    def _transition(
        self,
        kind: TransitionKind,
        state: _State,
        at: datetime,
        previous: AlertStatus | None,
        *,
        notify: bool,
        actor: str = "system",
        reason: ResolveReason | None = None,
        comment: str = "",
    ) -> Transition:
        return Transition(
            kind=kind,
            alert=state.snapshot(),
            at=at,
            previous=previous,
            notify=notify and not state.flapping,
            actor=actor,
            reason=reason,
            comment=comment,
        )

    # ----------------------------------------------------------------- silence (ABSENT rules)
    def _absent_heard(self, rule: Rule, reading: Reading, out: list[Transition]) -> None:
        identity = (rule.id, reading.subject)
        self._absent_seen[identity] = reading.ts
        state = self._states.get(identity)
        if state is None:
            return
        silence = 0.0
        if state.status is AlertStatus.PENDING:
            state.observe(silence, reading.ts, "min")
            self._cancel(identity, state, reading.ts, out)
        else:
            state.observe(silence, reading.ts, "min")
            self._resolve(identity, state, reading.ts, out)

    def _absent_tick(self, now: datetime, out: list[Transition]) -> None:
        for rule in self._absent_rules:
            watched = [
                s.id
                for s in self._subjects.values()
                if rule.match.matches(s) and (not rule.match.ids or s.id in rule.match.ids)
            ]
            for subject_id in watched:
                identity = (rule.id, subject_id)
                if identity in self._states:
                    continue
                last = self._absent_seen.get(identity) or self._started_at
                if last is None:
                    self._absent_seen[identity] = now  # start the clock at the first tick
                    continue
                if now - last < rule.absent_after:
                    continue
                began = last + rule.absent_after
                minutes = round((now - last).total_seconds() / 60.0, 1)
                state = _State(rule, self.subject(subject_id), minutes, began, "min")
                self._add_state(identity, state)
                if rule.hold > timedelta(0) and now - began < rule.hold:
                    out.append(self._transition(TransitionKind.PENDING, state, began, None, notify=False))
                else:
                    self._open(identity, state, began + rule.hold, out, previous=None)

    # ----------------------------------------------------------------- time
    def tick(self, now: datetime) -> list[Transition]:
        """Time-based changes: holds reached, recovery windows over, escalations, silence, settling."""
        out: list[Transition] = []
        if self._absent_rules:
            self._absent_tick(now, out)
        for identity, state in list(self._states.items()):
            rule = state.rule
            if state.status is AlertStatus.PENDING:
                if now - state.since >= rule.hold:
                    self._open(identity, state, state.since + rule.hold, out)
                    self._maybe_raise(state, state.last_value, now, out)
                continue
            if state.cleared_since is not None:
                if now - state.cleared_since >= self.settings.ack_recovery:
                    self._resolve(identity, state, state.cleared_since + self.settings.ack_recovery, out)
                continue
            if rule.kind is ConditionKind.ABSENT:
                minutes = round((now - (state.since - rule.absent_after)).total_seconds() / 60.0, 1)
                state.last_value = minutes
                state.worst_value = minutes
            if state.status is AlertStatus.OPEN:
                self._escalate(state, now, out)
        for identity, (last_change, snapshot) in list(self._flapping.items()):
            if now - last_change >= self.settings.flap_settle:
                del self._flapping[identity]
                live = self._states.get(identity)
                if live is not None:
                    live.flapping = False
                    out.append(self._transition(TransitionKind.SETTLED, live, now, live.status, notify=True))
                else:
                    settled = replace(snapshot, flapping=False)
                    out.append(
                        Transition(TransitionKind.SETTLED, settled, now, AlertStatus.RESOLVED, notify=True)
                    )
                self._opens.pop(identity, None)
        return out

    def _escalate(self, state: _State, now: datetime, out: list[Transition]) -> None:
        team = state.rule.team or state.subject.team
        after = self.settings.escalation.get(team) or self.settings.escalation.get("*")
        if not after or state.opened_at is None or after <= timedelta(0):
            return
        elapsed = clock(state.opened_at, now) if (clock := self.settings.escalation_clock.get(team)) else now - state.opened_at
        level = min(int(elapsed / after), self.settings.max_escalations)
        if level <= state.escalation_level:
            return
        state.escalation_level, state.severity = level, state.severity.raised()
        at = now if clock else state.opened_at + after * level
        out.append(self._transition(TransitionKind.ESCALATED, state, at, AlertStatus.OPEN, notify=True))

    # ----------------------------------------------------------------- people
    def _active(self, rule_id: str, subject: str) -> tuple[Identity, _State]:
        identity = (rule_id, subject)
        state = self._states.get(identity)
        if state is None:
            raise ActionRefused("the alert is no longer active (already resolved)")
        return identity, state

    def acknowledge(
        self, rule_id: str, subject: str, *, at: datetime, actor: str, comment: str = ""
    ) -> Transition:
        _, state = self._active(rule_id, subject)
        if state.status is AlertStatus.PENDING:
            raise ActionRefused("the alert is not open yet (its hold time is still running)")
        if state.status is AlertStatus.ACKNOWLEDGED:
            raise ActionRefused("the alert is already acknowledged")
        state.status = AlertStatus.ACKNOWLEDGED
        state.acknowledged_at = at
        return self._transition(
            TransitionKind.ACKNOWLEDGED,
            state,
            at,
            AlertStatus.OPEN,
            notify=True,  # the team hears who has it ("ACKNOWLEDGED by sam")
            actor=actor,
            comment=comment,
        )

    def unacknowledge(
        self, rule_id: str, subject: str, *, at: datetime, actor: str, comment: str = ""
    ) -> list[Transition]:
        identity, state = self._active(rule_id, subject)
        if state.status is not AlertStatus.ACKNOWLEDGED:
            raise ActionRefused("the alert is not acknowledged")
        out: list[Transition] = []
        if state.cleared_since is not None:
            # Its condition already cleared: without the ack holding it, it resolves now.
            state.status = AlertStatus.OPEN
            self._resolve(identity, state, at, out, actor=actor, comment=comment)
            return out
        state.status = AlertStatus.OPEN
        state.acknowledged_at = None
        out.append(
            self._transition(
                TransitionKind.UNACKNOWLEDGED,
                state,
                at,
                AlertStatus.ACKNOWLEDGED,
                notify=False,
                actor=actor,
                comment=comment,
            )
        )
        return out

    def resolve(
        self,
        rule_id: str,
        subject: str,
        *,
        at: datetime,
        actor: str,
        reason: ResolveReason,
        comment: str = "",
    ) -> Transition:
        identity, state = self._active(rule_id, subject)
        if state.status is AlertStatus.PENDING:
            raise ActionRefused("the alert is not open yet (its hold time is still running)")
        out: list[Transition] = []
        self._resolve(identity, state, at, out, actor=actor, reason=reason, comment=comment)
        return out[0]

    # ----------------------------------------------------------------- restart
    def restore(self, snapshots: Iterable[AlertSnapshot]) -> int:
        """Rebuild active alerts from storage after a restart. Returns how many were restored."""
        count = 0
        for snap in snapshots:
            rule = self.rule_by_id(snap.rule_id)
            if rule is None or snap.status is AlertStatus.RESOLVED:
                continue
            state = _State(
                rule, self.subject(snap.subject, snap.subject_kind), snap.first_value, snap.since, ""
            )
            state.status = snap.status
            state.severity = snap.severity
            state.opened_at = snap.opened_at
            state.acknowledged_at = snap.acknowledged_at
            state.last_value = snap.last_value
            state.worst_value = snap.worst_value
            state.worst_badness = _badness(rule, snap.worst_value)
            state.last_seen_at = snap.last_seen_at
            state.occurrences = snap.occurrences
            state.message = snap.message
            state.cleared_since = snap.cleared_since
            state.escalation_level = snap.escalation_level
            state.flapping = snap.flapping
            self._add_state(snap.identity, state)
            count += 1
        for identity, state in list(self._states.items()):
            if state.rule.supersedes and state.status is not AlertStatus.PENDING:
                self._supersede(identity, state, state.opened_at or state.since, None)
        return count

    def restore_last_seen(self, subject: str, metric: str, at: datetime) -> None:
        """Tell silence rules when a subject was last heard (from storage's latest readings)."""
        entry = self._entry(metric, subject, "equipment")
        for rule in entry.absent_rules:
            identity = (rule.id, subject)
            known = self._absent_seen.get(identity)
            if known is None or at > known:
                self._absent_seen[identity] = at

    def active(self) -> list[AlertSnapshot]:
        return [state.snapshot() for state in self._states.values()]

    def state_of(self, rule_id: str, subject: str) -> AlertSnapshot | None:
        state = self._states.get((rule_id, subject))
        return state.snapshot() if state else None


def _critical_if(rule: Rule, value: Value) -> Severity:
    if isinstance(value, float) and rule.kind is ConditionKind.THRESHOLD and rule.is_critical(value):
        return Severity.CRITICAL
    return rule.severity
