"""One module per chapter: a frozen ``Config``, ``run(config)`` and ``claims(result)``."""
