"""memprop: memristor recurrent networks that learn, as SPICE netlists co-simulated with ngspice."""

__version__ = "0.1.0"
