"""Indexable windows over the per-subject Zarr stores, the split manifests every model trains on, and their audit.

``stores`` reads store metadata and windows fast, ``channel_map`` harmonises montages across datasets, ``splits``
builds and saves the four split protocols as manifests, ``audit`` says what a split leaks, ``windows`` cuts a
manifest's trials into windows (numpy; the linear decoder reads these) and ``dataset`` is the PyTorch Dataset of
them that the trainers use.
"""
