"""Notifications: alert state stays in storage; this pipeline only tells people and systems (Alertmanager-style)."""
