"""The app's ε grid per data set and norm: numbers only (no torch), so the page's views can read it."""
import numpy as np

from ..datasets import dataset

GRID_SIZE = 21  # MNIST ℓ∞: steps of 0.015 (0.075, 0.15, … on the grid: the paper's columns); Fashion-MNIST: 0.005


def eps_grid(name: str, norm: str) -> np.ndarray:
    """(GRID_SIZE,) ε from 0 to the data set's range for the norm (vacdemo.datasets)."""
    return np.linspace(0, dataset(name).eps_range(norm), GRID_SIZE).round(6)
