import io
import json
import os
import zipfile

import numpy as np
import pytest
import torch
from datasets import Image as ImageFeature
from PIL import Image

from conftest import CIFAKE_ZIP, jpeg_bytes, write_mini_zip
from realfake_hf.arguments import DataArguments
from realfake_hf.data import (
    CIFAR10_CLASSES,
    DataError,
    DataNotFoundError,
    import_dataset,
    import_report,
    load_detection_dataset,
    with_model_inputs,
)
from realfake_hf.data.__main__ import main as data_cli
from realfake_hf.data.cifake import content_from_file_name
from realfake_hf.data.images import decode_image, pixels_for_model, to_rgb
from realfake_hf.data.pipeline import random_shift


@pytest.mark.parametrize(
    "name, expected",
    [("0 (10).jpg", "truck"), ("0000 (9).jpg", "ship"), ("1234.jpg", "airplane"), ("7 (2).jpg", "automobile")],
)
def test_content_class_from_cifake_file_name(name, expected):
    assert content_from_file_name(name) == expected


def test_content_class_out_of_range_names_the_file():
    with pytest.raises(DataError, match=r"5 \(11\)\.jpg"):
        content_from_file_name("5 (11).jpg")


def test_cifake_zip_imports_with_features_and_fixed_splits(mini_cifake_zip):
    dataset = load_detection_dataset("cifake", str(mini_cifake_zip))
    assert set(dataset) == {"train", "validation", "test"}
    assert dataset["train"].features["label"].names == ["real", "fake"]
    assert dataset["train"].features["content"].names == CIFAR10_CLASSES
    assert len(dataset["test"]) == 60  # the official test split is untouched
    assert len(dataset["train"]) + len(dataset["validation"]) == 240
    row = dataset["test"][0]
    assert row["image"].size == (32, 32) and row["file_name"].startswith("test/")
    fake_rows = [r for r in dataset["test"] if r["file_name"].startswith("test/FAKE/")]
    assert fake_rows and all(r["label"] == 1 for r in fake_rows)


def test_validation_is_stratified_seeded_and_disjoint(mini_cifake_zip):
    first = load_detection_dataset("cifake", str(mini_cifake_zip), validation_fraction=0.25, seed=1)
    again = load_detection_dataset("cifake", str(mini_cifake_zip), validation_fraction=0.25, seed=1)
    other = load_detection_dataset("cifake", str(mini_cifake_zip), validation_fraction=0.25, seed=2)
    validation = first["validation"]
    strata = {(row["label"], row["content"]) for row in validation}
    assert len(strata) == 20  # every label x class is in validation
    assert validation["file_name"] == again["validation"]["file_name"]
    assert validation["file_name"] != other["validation"]["file_name"]
    assert not set(validation["file_name"]) & set(first["train"]["file_name"])


def test_second_load_uses_the_arrow_cache(mini_cifake_zip):
    first = import_dataset("cifake", str(mini_cifake_zip))
    second = import_dataset("cifake", str(mini_cifake_zip))
    assert first["train"].cache_files == second["train"].cache_files
    assert import_report(second["train"])["train"]["n_imported"] == 240


def test_zip_cache_follows_its_contents_not_its_path_or_mtime(tmp_path, mini_cifake_zip, mini_cifake_members):
    copy = tmp_path / "moved" / "archive.zip"
    copy.parent.mkdir()
    copy.write_bytes(mini_cifake_zip.read_bytes())
    os.utime(copy, (1, 1))
    original = import_dataset("cifake", str(mini_cifake_zip))
    assert import_dataset("cifake", str(copy))["train"].cache_files == original["train"].cache_files
    replaced = mini_cifake_members[0]
    edited = write_mini_zip(
        tmp_path / "edited.zip", mini_cifake_members[1:], {replaced: jpeg_bytes(Image.new("RGB", (32, 32), "red"))}
    )
    assert import_dataset("cifake", str(edited))["train"].cache_files != original["train"].cache_files


def test_extracted_folder_and_zip_give_the_same_rows(tmp_path, mini_cifake_zip):
    with zipfile.ZipFile(mini_cifake_zip) as archive:
        archive.extractall(tmp_path / "cifake")
    from_folder = import_dataset("cifake", str(tmp_path / "cifake"))
    from_zip = import_dataset("cifake", str(mini_cifake_zip))
    for split in ("train", "test"):
        assert sorted(from_folder[split]["pixel_sha1"]) == sorted(from_zip[split]["pixel_sha1"])


def test_drop_duplicates_removes_repeats_and_test_leaks(tmp_path, mini_cifake_members):
    with zipfile.ZipFile(CIFAKE_ZIP) as archive:
        test_member = next(m for m in mini_cifake_members if m.startswith("test/FAKE/"))
        train_member = next(m for m in mini_cifake_members if m.startswith("train/REAL/"))
        extra = {"train/FAKE/leak (1).jpg": archive.read(test_member), "train/REAL/again.jpg": archive.read(train_member)}
    path = write_mini_zip(tmp_path / "archive.zip", mini_cifake_members, extra)
    kept = load_detection_dataset("cifake", str(path))
    dropped = load_detection_dataset("cifake", str(path), drop_duplicates=True)
    count = lambda d: len(d["train"]) + len(d["validation"])  # noqa: E731
    assert count(kept) == 242 and count(dropped) == 240
    names = set(dropped["train"]["file_name"]) | set(dropped["validation"]["file_name"])
    assert "train/FAKE/leak (1).jpg" not in names
    assert len(set(dropped["train"]["pixel_sha1"]) & set(dropped["test"]["pixel_sha1"])) == 0


def test_missing_dataset_says_where_it_looked_and_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("REALFAKE_DATA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError, match="kaggle datasets download"):
        load_detection_dataset("cifake", str(tmp_path / "nowhere.zip"))
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "no-such-set")):
        import_dataset("no-such-set")


def test_real_or_ai_imports_labels_and_content(real_or_ai_dir):
    dataset = import_dataset("real-or-ai", str(real_or_ai_dir))
    test = dataset["test"]
    assert len(test) == 450
    labels = np.asarray(test["label"])
    assert (labels == 1).sum() == 216 and (labels == 0).sum() == 234
    assert test.features["content"].names == ["city", "interior", "nature", "people"]


def _image(mode: str, size=(40, 24)) -> Image.Image:
    rng = np.random.default_rng(0)
    rgb = Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    if mode == "CMYK":
        return rgb.convert("CMYK")
    if mode == "P":
        return rgb.convert("P", palette=Image.Palette.ADAPTIVE)
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65535, (size[1], size[0]), dtype=np.uint16))
    return rgb.convert(mode)


@pytest.fixture
def messy_folder(tmp_path, real_or_ai_dir):
    """A real/fake image folder with every kind of trouble next to two real photographs."""
    root = tmp_path / "messy"
    (root / "people" / "ai").mkdir(parents=True)
    (root / "people" / "real").mkdir(parents=True)
    (root / "people" / "real" / "photo.jpg").write_bytes((real_or_ai_dir / "people/real/1.jpg").read_bytes())
    (root / "people" / "ai" / "generated.jpg").write_bytes((real_or_ai_dir / "people/ai/1.jpg").read_bytes())
    good = jpeg_bytes(_image("RGB"))
    (root / "people" / "ai" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (root / "people" / "ai" / "garbage.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "people" / "real" / "notes.txt").write_text("not an image")
    for mode in ("L", "RGBA", "P", "CMYK", "I;16", "LA"):
        image = _image(mode)
        suffix = "jpg" if mode in ("L", "CMYK") else ("tiff" if mode == "I;16" else "png")
        image.save(root / "people" / "real" / f"mode-{mode.replace(';', '')}.{suffix}")
    return root


def test_bad_files_are_skipped_counted_and_named(messy_folder):
    test = import_dataset("messy", str(messy_folder))["test"]
    report = import_report(test)["test"]
    skipped = {item["file"]: item["reason"] for item in report["skipped"]}
    assert set(skipped) == {"people/ai/truncated.jpg", "people/ai/garbage.jpg", "people/real/notes.txt"}
    assert "truncated" in skipped["people/ai/truncated.jpg"]
    assert "not an image" in skipped["people/real/notes.txt"]
    assert len(test) == report["n_imported"] == 8
    assert {"L", "RGBA", "P", "CMYK", "I;16", "LA"} <= set(test["mode"])


def test_strict_mode_fails_on_the_first_bad_file(messy_folder):
    with pytest.raises(DataError, match=r"people/ai/(garbage|truncated)\.jpg"):
        import_dataset("messy", str(messy_folder), strict=True)


def test_every_mode_and_size_becomes_the_same_model_input(messy_folder):
    pixels = with_model_inputs(import_dataset("messy", str(messy_folder))["test"], image_size=32)
    batch = pixels[:]
    assert batch["pixel_values"].shape == (8, 3, 32, 32)
    assert batch["pixel_values"].min() >= -1 and batch["pixel_values"].max() <= 1
    rgba = Image.new("RGBA", (8, 8), (10, 20, 30, 0))
    assert to_rgb(rgba).getpixel((0, 0)) == (255, 255, 255)  # transparent areas become white
    sixteen_bit = Image.fromarray(np.full((4, 4), 65535, dtype=np.uint16))
    assert to_rgb(sixteen_bit).getpixel((0, 0)) == (255, 255, 255)  # scaled, not clipped
    assert len(pixels_for_model(jpeg_bytes(_image("RGB", (300, 120))), 32)) == 32 * 32 * 3


def test_empty_folder_and_unmapped_label_folder_are_clear_errors(tmp_path, real_or_ai_dir):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no image files"):
        import_dataset("empty", str(tmp_path / "empty"))
    odd = tmp_path / "odd" / "midjourney_v6"
    odd.mkdir(parents=True)
    (odd / "1.jpg").write_bytes((real_or_ai_dir / "city/ai/1.jpg").read_bytes())
    with pytest.raises(DataError, match=r"midjourney_v6.*label_map"):
        import_dataset("odd", str(tmp_path / "odd"))
    mapped = import_dataset("odd", str(tmp_path / "odd"), label_map=json.dumps({"midjourney_v6": "fake"}))
    assert mapped["test"]["label"] == [1]


def test_decode_error_names_the_file():
    with pytest.raises(ValueError, match="some/file.png"):
        decode_image(b"nothing", "some/file.png")


def test_data_check_reports_counts_and_duplicates(tmp_path, mini_cifake_members, capsys):
    with zipfile.ZipFile(CIFAKE_ZIP) as archive:
        test_member = next(m for m in mini_cifake_members if m.startswith("test/REAL/"))
        extra = {"train/REAL/copy (3).jpg": archive.read(test_member), "train/REAL/copy2 (3).jpg": archive.read(test_member)}
    path = write_mini_zip(tmp_path / "archive.zip", mini_cifake_members, extra)
    assert data_cli(["check", "cifake", "--dataset_path", str(path), "--json", str(tmp_path / "r.json")]) == 0
    printed = capsys.readouterr().out
    assert "## train: 242 images" in printed and "## test: 60 images" in printed
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["splits"]["train"]["duplicates"]["redundant_copies"] == 1
    assert report["train_vs_test"]["test_images_also_in_train"] == 1
    assert report["splits"]["train"]["counts"]["real"]["bird"] == 14


def test_data_check_cli_reports_missing_data(tmp_path, capsys):
    assert data_cli(["check", "cifake", "--dataset_path", str(tmp_path / "missing")]) == 2
    assert "kaggle" in capsys.readouterr().err


def test_hub_layout_conversion_maps_labels_and_describes_images(real_or_ai_dir):
    """What ``load_hub_dataset`` does after the download, on a Hub-shaped dataset built from local files."""
    from datasets import ClassLabel, Dataset, DatasetDict, Features
    from datasets import Image as ImageFeature

    from realfake_hf.data.hub import to_detection_layout

    files = [real_or_ai_dir / "city/ai/1.jpg", real_or_ai_dir / "city/real/1.jpg"]
    features = Features({"image": ImageFeature(), "label": ClassLabel(names=["FAKE", "REAL"])})
    raw = DatasetDict({"train": Dataset.from_dict({"image": [str(f) for f in files], "label": [0, 1]}, features=features)})
    converted = to_detection_layout(raw, "someone/some-set")["train"]
    assert converted["label"] == [1, 0]  # FAKE -> fake (1), REAL -> real (0)
    assert converted.features["label"].names == ["real", "fake"]
    assert converted["content"] == [0, 0] and converted.features["content"].names == ["unknown"]
    assert all(len(sha) == 40 for sha in converted["pixel_sha1"]) and converted["mode"] == ["RGB", "RGB"]
    odd = DatasetDict({"train": Dataset.from_dict({"image": [str(files[0])], "label": ["midjourney"]}).cast_column("image", ImageFeature())})
    with pytest.raises(DataError, match="midjourney"):
        to_detection_layout(odd, "someone/other-set")


def test_random_shift_moves_each_image_within_reflected_borders():
    generator = torch.Generator().manual_seed(0)
    images = torch.arange(4 * 3 * 8 * 8, dtype=torch.float32).view(4, 3, 8, 8)
    shifted = random_shift(images, 2, generator)
    assert shifted.shape == images.shape
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2), mode="reflect")
    offsets = []
    for image, source in zip(shifted, padded):
        matches = [(y, x) for y in range(5) for x in range(5) if torch.equal(source[:, y : y + 8, x : x + 8], image)]
        assert len(matches) == 1
        offsets += matches
    assert len(set(offsets)) > 1, "four images all got the same shift"
    assert torch.equal(random_shift(images, 2, torch.Generator().manual_seed(0)), shifted)


def test_shift_augmentation_only_in_training(mini_cifake_zip):
    dataset = load_detection_dataset("cifake", str(mini_cifake_zip))["train"].select(range(8))
    evaluation = with_model_inputs(dataset, 32, train=False, max_shift=4)
    training = with_model_inputs(dataset, 32, train=True, hflip_probability=0.0, max_shift=4)
    plain = evaluation[:8]["pixel_values"]
    assert torch.equal(plain, evaluation[:8]["pixel_values"])
    torch.manual_seed(0)
    moved = training[:8]["pixel_values"]
    assert moved.shape == plain.shape
    assert not torch.equal(moved, plain)


def test_images_decoded_by_several_processes_keep_their_rows(mini_cifake_zip):
    dataset = load_detection_dataset("cifake", str(mini_cifake_zip))["train"].select(range(4, 24))
    pixels = with_model_inputs(dataset, 32, num_proc=2)[:]
    # Decoded here one by one, without Dataset.map or its cache, as the reference.
    raw = dataset.cast_column("image", ImageFeature(decode=False))
    expected = torch.stack([
        torch.frombuffer(bytearray(pixels_for_model(row["image"]["bytes"], 32, row["file_name"])), dtype=torch.uint8)
        .view(32, 32, 3).permute(2, 0, 1).float().div(255).sub(0.5).div(0.5)
        for row in raw
    ])
    assert torch.allclose(pixels["pixel_values"], expected)
    assert pixels["labels"].tolist() == dataset["label"]
    with pytest.raises(ValueError, match="preprocessing_num_workers"):
        DataArguments(preprocessing_num_workers=0)


def test_random_erasing_greys_out_one_rectangle_per_image_only_in_training(mini_cifake_zip):
    dataset = load_detection_dataset("cifake", str(mini_cifake_zip))["train"].select(range(8))
    plain = with_model_inputs(dataset, 32, train=False, random_erasing_probability=1.0)[:8]["pixel_values"]
    training = with_model_inputs(dataset, 32, train=True, hflip_probability=0.0, random_erasing_probability=1.0)
    torch.manual_seed(0)
    erased = training[:8]["pixel_values"]
    changed = (erased != plain).any(dim=1)
    assert torch.all(erased.permute(1, 0, 2, 3)[:, changed] == 0), "erased pixels are the normalisation mean"
    areas = changed.flatten(1).sum(dim=1)
    assert torch.all(areas > 0) and torch.all(areas <= 0.33 * 32 * 32)
    assert len(set(areas.tolist())) > 1, "eight images all got the same rectangle"
    with pytest.raises(ValueError, match="random_erasing_probability"):
        DataArguments(random_erasing_probability=1.5)
