import pytest

from eeg2music.preprocess.channels import is_standard, normalise_channel_name, normalise_channel_names


@pytest.mark.parametrize(("raw", "norm"), [("FP1", "Fp1"), ("FPz", "Fpz"), ("T3", "T7"), ("T6", "P8"),
                                           ("EEG Cz", "Cz"), ("POz", "POz"), ("FT9", "FT9"), ("E17", "E17"),
                                           ("ECG", "ECG")])
def test_normalise(raw, norm):
    assert normalise_channel_name(raw) == norm


def test_standard_names_recognised():
    assert is_standard("Fp1") and is_standard("TP10") and not is_standard("E17")


def test_collision_refused():
    with pytest.raises(ValueError, match="collide"):
        normalise_channel_names(["T3", "T7"])
