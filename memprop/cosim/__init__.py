"""Running and learning, in rooms. Each room imports only from the rooms before it in this list
(tests/test_imports.py walks every import and fails on one that points the other way):

- data/         files read and written without hanging, exhausting memory or losing data; datasets
- config/       the run configuration: TOML in, typed and validated dataclasses out
- simulator/    the process's one ngspice (PySpice), raw files, single cells run on their own
- programming/  how weight changes reach the devices: ideal or pulsed writes, writes through the lines
- engines/      what settles the phases of a batch: the Engine protocol and Phase (base), the numpy
                twin, ngspice per phase, batched sweeps and transients, worker processes, the factory
- learning/     gradient estimators (EP, RBP) and the one train_step, the optimizer's schedule,
                gradcheck, the Hopfield baselines
- runs/         a training run: trainer, run directory, plots, transistor-level validation,
                pattern reconstruction; commands: what each non-bench command checks and prints
- bench/        one module per `memprop bench X`; commands: their option checks and last lines
- cli/          the click wiring of the `memprop` command (each body parses, calls one function, echoes)
"""
