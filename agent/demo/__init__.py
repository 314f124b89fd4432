"""The demo clinic behind `facility-agent demo`: simulators, a broker, the agent, and their start and stop."""
