"""Models, one file each. Every model's ``forward(batch)`` returns its training loss (so DDP sees the whole step)
and ``predict(eeg)`` returns its decoded target; ``registry.build`` makes one from an experiment config."""
