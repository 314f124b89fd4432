"""Scheduled jobs that must run once per site and period: the nightly restock email, the weekly summary."""
