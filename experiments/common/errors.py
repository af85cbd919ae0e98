"""The one exception type for bad input: the CLI turns it into a one-line message and exit code 2."""


class ConfigError(ValueError):
    """A config value is invalid. The message names the key, the bad value and what would be valid."""


def require(condition: bool, message: str) -> None:
    """Raise ConfigError(message) unless condition holds (keeps validators one line per rule)."""
    if not condition:
        raise ConfigError(message)


def require_positive(value, key: str) -> None:
    require(value is not None and value > 0, f"{key}={value!r} is invalid: it must be a positive number")


def require_choice(value, key: str, choices) -> None:
    require(value in choices, f"{key}={value!r} is invalid; valid choices: {', '.join(map(str, choices))}")
