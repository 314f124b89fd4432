"""Configuration: one YAML file, environment overrides, errors that name the file, key and fix."""

from agent.config.loader import ConfigError, ConfigProblem, load_config, load_config_text
from agent.config.model import AgentConfig

__all__ = ["AgentConfig", "ConfigError", "ConfigProblem", "load_config", "load_config_text"]
