"""The package version: a leaf, so that reading it (a checkpoint records it) loads nothing else."""
__version__ = "0.2.0"
