"""Model A: an EEG foundation encoder fine-tuned to produce spectral representations of the music heard: EEGPT
(Wang et al. 2024, braindecode's implementation; the default) or CBraMod (``cbramod``, Wang et al. 2025).

``weights`` reads pretrained encoder weights in either released form; ``encoder`` builds braindecode's EEGPT for a
dataset's channels and checks the input contract (256 Hz, millivolts, windows in whole 64-sample patches);
``model`` is the fine-tuned decoder (encoder + a head over neighbouring patches → log-mel or amplitude) with its
fine-tuning schemes; its 4 Hz × 2048 tokens condition the DiffWave vocoder (model B).
"""
