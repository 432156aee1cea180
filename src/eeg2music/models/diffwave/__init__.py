"""Model B: a DiffWave-style diffusion vocoder (Kong et al., ICLR 2021), split like lmnt-com/diffwave.

``schedule`` (noise schedules and the fast-sampling alignment) → ``model`` (the network) → ``conditioners`` (what
the waveform is conditioned on: true log-mel, an EEG window, or any frame-rate tensor such as EEGPT tokens) →
``decoder`` (the module the training engine drives: ε-prediction loss, sampling). Wav files are the decoding
stage's (``eeg2music.decode.listen``).
"""
