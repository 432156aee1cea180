"""Are the data and the compute enough? Measured step costs projected onto the real datasets and named GPUs.

``flops`` counts a training step's floating-point work (recurrent layers analytically), ``hardware`` holds the
GPU table, ``measure`` times real batch shapes on this device, ``project`` turns both into epochs, GPU-hours and
cost, and ``cli`` (``eeg2music budget``) writes the table and the plot.
"""
