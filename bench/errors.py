"""The usage error every layer raises: at the bottom of the imports, so anything may raise it.

Why its own file: the training spec, the options and the config all validate input and must not
import one another to say so. The CLI turns it into one `error:` line and exit code 2.
"""


class ConfigError(ValueError):
    """A bad configuration value; the CLI turns it into exit code 2."""
