"""The study: the paper's sweeps, their raw measurements, the verdicts, the report and the model card.
Only the CLI imports it; the core and the attack never do."""
