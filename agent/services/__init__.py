"""Service functions: the one place HTTP routes, pages and the CLI act on the agent. Keyword-only."""
