import numpy as np
import pytest

from realfake_hf.metrics import accuracy_interval, detection_metrics, expected_calibration_error


def test_perfect_confident_detector():
    labels = np.array([0, 0, 1, 1])
    metrics = detection_metrics(labels, np.array([0.0, 0.0, 1.0, 1.0]))
    assert metrics["accuracy"] == 1 and metrics["roc_auc"] == 1 and metrics["average_precision"] == 1
    assert metrics["ece_15"] == 0
    assert metrics["false_positive_rate"] == 0 and metrics["false_negative_rate"] == 0
    assert metrics["confusion_matrix"]["rows_true_columns_predicted"] == [[2, 0], [0, 2]]


def test_fake_is_the_positive_class_and_error_rates_are_per_label():
    labels = np.array([0, 0, 0, 0, 1, 1])
    p_fake = np.array([0.9, 0.1, 0.2, 0.3, 0.8, 0.4])  # one real flagged fake, one fake missed
    metrics = detection_metrics(labels, p_fake, contents=np.array([0, 0, 1, 1, 0, 1]), content_names=["cat", "dog"])
    assert metrics["false_positive_rate"] == pytest.approx(1 / 4)
    assert metrics["false_negative_rate"] == pytest.approx(1 / 2)
    assert metrics["precision"] == pytest.approx(1 / 2) and metrics["recall"] == pytest.approx(1 / 2)
    cat = metrics["per_content"]["cat"]
    assert {k: v for k, v in cat.items() if k != "accuracy_ci95"} == {
        "n": 3, "accuracy": pytest.approx(2 / 3), "false_positive_rate": 0.5, "false_negative_rate": 0.0}
    low, high = cat["accuracy_ci95"]
    assert 0 <= low < 2 / 3 < high <= 1, "three images give a wide interval around 2/3"
    assert metrics["per_content"]["dog"]["false_negative_rate"] == 1.0


def test_ece_of_a_known_miscalibration():
    # every score 0.8 but only half are fake: one bin, |0.5 - 0.8| = 0.3
    assert expected_calibration_error(np.array([0, 1, 0, 1]), np.full(4, 0.8)) == pytest.approx(0.3)
    # two bins, each with half the images: 0.5 * |0 - 0.1| + 0.5 * |1 - 0.9|
    assert expected_calibration_error(np.array([0, 0, 1, 1]), np.array([0.1, 0.1, 0.9, 0.9])) == pytest.approx(0.1)


def test_bootstrap_interval_brackets_the_accuracy_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = rng.random(200) < 0.9
    large = rng.random(20000) < 0.9
    low_s, high_s = accuracy_interval(small)
    low_l, high_l = accuracy_interval(large)
    assert low_s <= small.mean() <= high_s and low_l <= large.mean() <= high_l
    assert (high_l - low_l) < (high_s - low_s) / 5


def test_one_class_only_gives_no_auc_instead_of_crashing():
    metrics = detection_metrics(np.zeros(5, dtype=int), np.linspace(0, 1, 5))
    assert metrics["roc_auc"] is None and metrics["false_negative_rate"] is None
