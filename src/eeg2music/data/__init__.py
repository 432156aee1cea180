"""Indexable windows over the per-subject Zarr stores, the split manifests every model trains on, and their audit.

``stores`` reads store metadata and windows fast, ``channels`` harmonises montages across datasets, ``splits``
builds and saves the four split protocols as manifests, ``audit`` says what a split leaks, and ``windows`` is the
PyTorch Dataset the trainers use.
"""
