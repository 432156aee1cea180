"""A synthetic study in the real on-disk formats, with a known ground truth.

``music`` makes identifiable piano-like clips, ``forward`` turns a clip into EEG through a documented forward model
(lagged TRFs + realistic noise), and ``study`` writes them as BIDS datasets shaped like ds002725/ds002722/ds002724,
copying channel names/types, event codes and stimulus naming from the real sidecars in ``templates/``.
"""
