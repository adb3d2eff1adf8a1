"""The paper's numbers, transcribed: Tables 1–4 (ℓ1 strength λ × ε, at the best capacity of §6.3).

Figs. 3 and 4 (the capacity sweep) are plots without printed values, so only their claims can be compared.
"""
from .datasets import EPS_MAX

# The ε columns of Tables 1–4, ℓ∞ on [0, 1] pixels; the figures' ranges are 0 … 0.3 and 0 … 0.1 (§5).
# The tables' columns are 0, ¼, ½, ¾ and all of the figures' range (vacdemo.datasets: 0.3 MNIST, 0.1 Fashion-MNIST).
FIGURE_EPS_MAX = EPS_MAX
TABLE_EPS = {name: [round(top * i / 4, 6) for i in range(5)] for name, top in EPS_MAX.items()}
BEST_CAPACITY = {"mnist": 1.0, "fmnist": 10.0}  # §6.3
CAPACITIES = [0.01, 0.1, 1.0, 10.0]  # Figs. 3 and 4

# Tables 1 and 2: robust accuracy; Tables 3 and 4: detection accuracy. {λ: row over TABLE_EPS}
ROBUST = {
    "mnist": {1e-6: [0.9395, 0.1360, 0.0988, 0.0918, 0.0471], 5e-7: [0.8461, 0.0111, 0.0004, 0.0002, 0.0001],
              1e-7: [0.8452, 0.0498, 0.0218, 0.0215, 0.0254], 5e-8: [0.8320, 0.1194, 0.0646, 0.0527, 0.0377]},
    "fmnist": {1e-3: [0.624, 0.185, 0.083, 0.027, 0.009], 1e-4: [0.657, 0.081, 0.041, 0.026, 0.020],
               1e-5: [0.722, 0.260, 0.140, 0.089, 0.063], 1e-6: [0.764, 0.216, 0.084, 0.048, 0.033]},
}
DETECTION = {
    "mnist": {1e-6: [0.976, 0.976, 0.988, 0.988, 0.988], 5e-7: [0.967, 0.976, 0.983, 0.983, 0.983],
              1e-7: [0.968, 0.969, 0.984, 0.984, 0.984], 5e-8: [0.945, 0.953, 0.972, 0.972, 0.972]},
    "fmnist": {1e-3: [0.628, 0.637, 0.741, 0.782, 0.800], 1e-4: [0.738, 0.716, 0.812, 0.843, 0.852],
               1e-5: [0.699, 0.686, 0.810, 0.838, 0.841], 1e-6: [0.713, 0.720, 0.830, 0.846, 0.850]},
}
L1 = {name: list(rows) for name, rows in ROBUST.items()}  # λ values, strongest first
