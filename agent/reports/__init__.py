"""Report builders: the nightly restock email and the weekly summary."""
