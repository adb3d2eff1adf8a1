"""Attacks on a model (Algorithm 2 and peers): PGD, APGD, the detector-aware PGD, the comparison, tables."""
