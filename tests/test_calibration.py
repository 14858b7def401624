import numpy as np
import pytest

from realfake_hf.calibration import abstain_report, fit_temperature, p_fake_at_temperature


def test_temperature_recovers_a_known_overconfidence():
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, size=(20000, 1)) * np.array([[-0.5, 0.5]])
    labels = (rng.random(20000) < p_fake_at_temperature(true_logits, 1.0)).astype(int)
    overconfident = true_logits * 3  # a model three times too sure of itself
    assert fit_temperature(overconfident, labels) == pytest.approx(3.0, rel=0.05)
    assert fit_temperature(true_logits, labels) == pytest.approx(1.0, rel=0.05)


def test_temperature_keeps_every_decision():
    logits = np.array([[0.2, 1.5], [2.0, -1.0], [0.1, 0.0]])
    for temperature in (0.5, 1.0, 4.0):
        assert ((p_fake_at_temperature(logits, temperature) >= 0.5) == [True, False, False]).all()


def test_abstain_band_trades_coverage_for_errors():
    labels = np.array([0, 0, 0, 1, 1, 1])
    p_fake = np.array([0.1, 0.5, 0.8, 0.9, 0.4, 0.2])
    report = abstain_report(labels, p_fake, 0.3, 0.7)
    assert report["coverage"] == pytest.approx(4 / 6)
    assert report["accuracy_on_decided"] == pytest.approx(2 / 4)
    assert report["false_positive_rate_on_decided"] == pytest.approx(1 / 2)
    assert report["false_negative_rate_on_decided"] == pytest.approx(1 / 2)
    everything = abstain_report(labels, p_fake, 0.5, 0.5)
    assert everything["coverage"] == 1
