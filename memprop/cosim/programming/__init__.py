"""Device programming: weight changes as ideal or pulsed writes (writes), and writes through the lines (crossbar)."""
