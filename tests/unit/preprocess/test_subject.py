"""The preprocessing step's one config object, built from the workflow config's section."""

from __future__ import annotations

import mne
import numpy as np
import pytest
import yaml

from eeg2music.errors import InputError
from eeg2music.preprocess.eeg import clean_run
from eeg2music.preprocess.subject import config_from_section

from ...conftest import PRE, REPO


def test_the_shipped_section_builds_the_config():
    section = yaml.safe_load((REPO / "config/config.yaml").read_text())["preprocess"]
    cfg = config_from_section(section)
    assert cfg.eeg.rates == tuple(section["rates"]) and cfg.n_mels == section["n_mels"]
    assert cfg.eeg.reference == "average"  # a key the section leaves out takes the dataclass default


def test_an_unknown_or_missing_key_is_one_line():
    with pytest.raises(InputError, match="unknown preprocessing key 'h_frq'"):
        config_from_section({**PRE, "h_frq": 30})
    with pytest.raises(InputError, match="incomplete preprocessing section"):
        config_from_section({k: v for k, v in PRE.items() if k != "n_mels"})


@pytest.mark.parametrize("reference", ["average", "none"])
def test_reference_is_a_knob_of_the_section(reference):
    """A new knob is one schema entry and one dataclass field: ``reference: none`` keeps the recorded reference."""
    cfg = config_from_section({**PRE, "reference": reference})
    rng = np.random.default_rng(0)
    names = ["Fz", "Cz", "Pz", "Oz", "C3", "C4"]
    data = 1e-5 * rng.standard_normal((6, 2560)) + 2e-5 * np.sin(2 * np.pi * 3 * np.arange(2560) / 256)
    raw = mne.io.RawArray(data, mne.create_info(names, 256.0, "eeg"), verbose="error")
    raw.set_montage("standard_1020", verbose="error")
    clean, _ = clean_run(raw, cfg.eeg, "test")
    common = np.abs(clean.get_data().mean(axis=0)).max()
    assert (common < 1e-12) == (reference == "average")
