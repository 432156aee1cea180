"""Per-subject preprocessing: raw BIDS/MAT recordings → clean, epoched EEG and aligned audio targets in Zarr."""
