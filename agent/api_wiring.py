"""Build the FastAPI app for a running agent: the API adapter gets the agent's services through its ports."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from agent.cold_chain import history_service
from agent.jobs.weekly import weekly_summary_for
from agent.live import LiveBroadcaster
from agent.services.app_services import AppServices
from agent.services.contacts import ContactDirectory
from agent.services.equipment_history import HistoryService
from api.app import create_app
from api.auth import SignInLimiter

if TYPE_CHECKING:
    from agent.runtime import Runtime


def session_secret(runtime: Runtime) -> str | None:
    api = runtime.config.api
    if api.session_secret_file is not None:
        return api.session_secret_file.read_text().strip()
    if api.session_secret_env:
        return os.environ.get(api.session_secret_env) or None
    return None


def build_app(runtime: Runtime) -> Any:
    live = LiveBroadcaster()
    runtime.pipeline.listeners.append(live.listener)
    runtime.live = live

    def readiness() -> tuple[bool, dict[str, str]]:
        report = runtime.readiness()
        flat: dict[str, str] = {}
        for name, value in report.items():
            if name == "ok":
                continue
            if isinstance(value, dict) and "ok" in value:
                flat[name] = "ok" if value["ok"] else f"failing: {value.get('error', 'not ready')}"
            elif isinstance(value, dict):
                for sub, text in value.items():
                    flat[f"{name}.{sub}"] = str(text)
        return bool(report.get("ok")), flat

    runtime.app_services = AppServices(
        sessions=runtime.sessions,
        pipeline=runtime.pipeline,
        clock=runtime.clock,
        inventory=runtime.inventory,
        live=live,
        readiness=readiness,
        metrics=runtime.metrics.render,
    )
    runtime.app_services.weekly_builder = lambda session, week: weekly_summary_for(session, runtime.config, week=week)
    runtime.app_services.weekly_timezone = runtime.config.site.timezone
    runtime.app_services.count_backfill = runtime.config.api.count_backfill
    api = runtime.config.api
    app = create_app(
        runtime.app_services,
        session_secret=session_secret(runtime),
        secure_cookies=api.cookie_secure,
        site_name=runtime.config.site.name,
        timezone=runtime.config.site.timezone,
        sign_in_limiter=SignInLimiter(attempts=api.sign_in_failures, window=api.sign_in_window),
        idle_timeout=api.idle_timeout.total_seconds(),
        max_body=api.max_body_bytes,
        max_streams=api.max_streams,
        max_streams_per_principal=api.max_streams_per_principal,
        ack_links=_ack_links(runtime),
        contacts=ContactDirectory(runtime.router, runtime.clock),
    )
    app.state.history = build_history(runtime)
    return app


def _ack_links(runtime: Runtime) -> Any:
    from agent.notify.wiring import link_secret
    from agent.services.ack_link_service import AckLinkService

    return AckLinkService(sessions=runtime.sessions, pipeline=runtime.pipeline, clock=runtime.clock, secret=link_secret(runtime))


def build_history(runtime: Runtime) -> HistoryService:
    return history_service(
        runtime.config, runtime.sessions, runtime.clock, subjects=runtime.subjects, rules=lambda: runtime.engine.rules
    )
