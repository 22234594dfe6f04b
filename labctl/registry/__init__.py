"""Registries: the kinds of measurement (procedures) and of instrument labctl knows."""
