"""Dataset readers: every source (OpenNeuro BCMI sets, NMED-T, the synthetic study) yields the same records.

A reader lists a subject's runs cheaply (:class:`RunFile`, paths only, for Snakemake and ``discover``), then reads a
run into a :class:`Run`: the continuous recording plus its trials. ``Run.trial_records()`` cuts the uniform
:class:`TrialRecord` that everything downstream speaks. See :mod:`eeg2music.io.readers` for the dataset ids.
"""

from eeg2music.io.readers import DATASETS, DatasetSpec, get_dataset
from eeg2music.io.records import Run, RunFile, Trial, TrialRecord

__all__ = ["DATASETS", "DatasetSpec", "Run", "RunFile", "Trial", "TrialRecord", "get_dataset"]
