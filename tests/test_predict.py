import csv

import numpy as np
import pytest
from PIL import Image

from realfake_hf.predict import main, predict_files, verdict_for
from realfake_hf.inference import load_detector, predict_split
from realfake_hf.data import import_dataset


def test_verdicts_follow_the_abstain_band():
    assert [verdict_for(p, 0.3, 0.7) for p in (0.0, 0.3, 0.5, 0.7, 1.0)] == ["real", "real", "uncertain", "fake", "fake"]


def test_folder_glob_and_bad_files_with_csv_and_heatmaps(trained_tiny_model, real_or_ai_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes((real_or_ai_dir / "nature/real/1.jpg").read_bytes())
    Image.fromarray(np.zeros((20, 50), dtype=np.uint8)).save(folder / "grey.png")
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    glob_pattern = str(real_or_ai_dir / "city" / "ai" / "1*.jpg")
    out_csv, heatmaps = tmp_path / "out.csv", tmp_path / "maps"
    assert main([str(folder), glob_pattern, "--model", str(trained_tiny_model), "--csv", str(out_csv),
                 "--heatmaps", str(heatmaps)]) == 0
    printed = capsys.readouterr().out
    assert "broken.jpg\t\tunreadable" in printed
    rows = list(csv.DictReader(out_csv.open()))
    assert len(rows) == 3 + len(list((real_or_ai_dir / "city" / "ai").glob("1*.jpg")))
    scored = [r for r in rows if r["p_fake"]]
    assert all(0 <= float(r["p_fake"]) <= 1 and r["verdict"] in ("real", "fake", "uncertain") for r in scored)
    assert (heatmaps / "photo_gradcam.png").exists() and not (heatmaps / "broken_gradcam.png").exists()


def test_single_image_path_agrees_with_batch_evaluation(trained_tiny_model, mini_cifake_zip, tmp_path):
    test = import_dataset("cifake", str(mini_cifake_zip))["test"].select(range(3))
    files = []
    for index, image in enumerate(test["image"]):
        files.append(tmp_path / f"{index}.png")
        image.save(files[-1])
    single = [r.p_fake for r in predict_files(trained_tiny_model, [str(f) for f in files])]
    model, processor = load_detector(trained_tiny_model)
    assert single == pytest.approx(list(predict_split(model, processor, test)), abs=1e-5)
