"""Running and learning: the ngspice session, the behavioural engine, training rules and the CLI."""
