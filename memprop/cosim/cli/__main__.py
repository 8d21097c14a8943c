"""`python -m memprop.cosim.cli`: the same command line as `memprop`."""

from memprop.cosim.cli import main

main()
