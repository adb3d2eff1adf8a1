"""The networks and what is saved of them: the β-VAC, its fast attack view, checkpoints, the detector."""
