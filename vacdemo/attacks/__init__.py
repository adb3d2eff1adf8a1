"""Attacks on a model (Algorithm 2 and peers): PGD, APGD, the detector-aware PGD, Square (gradient-free, every
query counted), the comparison of several models, the ε-grid tables."""
