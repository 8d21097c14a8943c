"""What the hardware is: typed, validated dataclasses and the numpy twin of every device equation."""
