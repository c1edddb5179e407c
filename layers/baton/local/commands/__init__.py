"""One module per ``baton`` subcommand; each has ``register(subparsers)`` setting ``func`` on its parser."""
