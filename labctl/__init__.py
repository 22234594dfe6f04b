"""labctl: solar-cell characterization bench."""

__version__ = "0.1.0"
