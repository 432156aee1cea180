"""Models, one file (or package) each. Every model's ``forward(batch)`` returns its training loss (so DDP sees the
whole step) and says what it decodes in ``target``: ``envelope`` (bi-LSTM: ``predict(eeg)``), ``mel`` (the UNet
control: ``predict(eeg)``) or ``audio`` (DiffWave: ``generate(batch, steps, seed)``). ``registry.build`` makes one
from an experiment config; ``eeg2music.decode.predict`` turns any of them into the shared predictions format."""
