import pandas as pd
import pytest

from realfake_hf.compare import compare_predictions, mcnemar


def test_mcnemar_known_values():
    # 10 images only the first model gets right, 2 only the second: exact two-sided p = P(X<=2 or X>=10 | n=12)
    first = [True] * 10 + [False] * 2 + [True] * 5
    second = [False] * 10 + [True] * 2 + [True] * 5
    result = mcnemar(first, second)
    assert (result["only_first_correct"], result["only_second_correct"]) == (10, 2)
    assert result["p_value_exact"] == pytest.approx(2 * (1 + 12 + 66) / 4096)
    assert result["chi2_continuity_corrected"] == pytest.approx((8 - 1) ** 2 / 12)
    assert mcnemar([True, False], [True, False])["p_value_exact"] == 1.0


def test_compare_prediction_files(tmp_path):
    names = [f"{i}.jpg" for i in range(6)]
    labels = ["real", "real", "real", "fake", "fake", "fake"]
    pd.DataFrame({"file_name": names, "label": labels, "content": "x", "p_fake": [0.1, 0.2, 0.9, 0.9, 0.8, 0.1]}).to_csv(
        tmp_path / "a.csv", index=False)
    pd.DataFrame({"file_name": names[::-1], "label": labels[::-1], "content": "x",
                  "p_fake": [0.9, 0.9, 0.9, 0.1, 0.1, 0.1]}).to_csv(tmp_path / "b.csv", index=False)
    result = compare_predictions(tmp_path / "a.csv", tmp_path / "b.csv")
    assert result["accuracy_first"] == pytest.approx(4 / 6) and result["accuracy_second"] == 1.0
    assert result["only_second_correct"] == 2 and result["only_first_correct"] == 0
    pd.DataFrame({"file_name": names[:3], "label": labels[:3], "content": "x", "p_fake": 0.5}).to_csv(
        tmp_path / "c.csv", index=False)
    with pytest.raises(ValueError, match="same images"):
        compare_predictions(tmp_path / "a.csv", tmp_path / "c.csv")
