"""eeg2music: decode the music a person heard from their EEG.

The pipeline, in folder order: ``synth`` (a synthetic study in real BIDS/EDF formats) or ``io.fetch`` (real data)
→ ``io`` (dataset readers yielding uniform trial records) → ``preprocess`` (per-subject MNE pipeline into a Zarr
store, see ``store``) → ``summary`` (the metadata summary).
"""

__version__ = "0.1.0"

# Layout version of the per-subject Zarr stores; bump when arrays or attrs change meaning.
STORE_LAYOUT_VERSION = 2  # 2: checksums.json, run-level QC, source paths relative to the root
