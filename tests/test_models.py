import io
import zipfile

import pytest
import torch
from PIL import Image
from transformers import AutoImageProcessor, AutoModelForImageClassification, pipeline

from conftest import CIFAKE_ZIP
from realfake_hf.data import import_dataset
from realfake_hf.inference import input_spec, load_detector, predict_split
from realfake_hf.models import create_model, image_processor_for, list_models, model_entry
from realfake_hf.models.pretrained import HEAD_NAMES


def _head_and_backbone(model):
    named = [(name, p) for name, p in model.named_parameters()]
    head = [p for name, p in named if any(part in HEAD_NAMES for part in name.split("."))]
    backbone = [p for name, p in named if not any(part in HEAD_NAMES for part in name.split("."))]
    return head, backbone


@pytest.mark.parametrize("name", list_models())
def test_registered_models_give_two_logits_and_a_loss(name):
    model = create_model(name, image_size=32)
    assert {int(k): v for k, v in model.config.id2label.items()} == {0: "real", 1: "fake"}
    output = model(pixel_values=torch.randn(3, 3, 32, 32), labels=torch.tensor([0, 1, 1]))
    assert output.logits.shape == (3, 2) and output.loss.ndim == 0 and torch.isfinite(output.loss)
    output.loss.backward()
    head, backbone = _head_and_backbone(model)
    assert head and all(p.grad is not None for p in head)
    assert sum(p.grad is not None for p in backbone) > len(backbone) // 2


@pytest.mark.parametrize("name", list_models(pretrained=True))
def test_linear_probe_trains_only_the_head(name):
    model = create_model(name, image_size=32, freeze_backbone=True)
    head, backbone = _head_and_backbone(model)
    assert all(p.requires_grad for p in head) and not any(p.requires_grad for p in backbone)
    assert sum(p.numel() for p in head) < 10_000


@pytest.mark.parametrize("name", list_models(pretrained=True))
def test_pretrained_weights_are_loaded_not_random(name):
    first, second = create_model(name), create_model(name)
    _, backbone_first = _head_and_backbone(first)
    _, backbone_second = _head_and_backbone(second)
    assert all(torch.equal(a, b) for a, b in zip(backbone_first, backbone_second))


@pytest.mark.parametrize("name", list_models())
def test_every_model_saves_loads_and_runs_in_a_pipeline(name, tmp_path, real_or_ai_dir):
    model = create_model(name, image_size=32).eval()
    model.save_pretrained(tmp_path)
    image_processor_for(name, 32).save_pretrained(tmp_path)
    reloaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    pixels = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(model(pixel_values=pixels).logits, reloaded(pixel_values=pixels).logits, atol=1e-5)
    classifier = pipeline("image-classification", model=str(tmp_path))
    scores = classifier(str(real_or_ai_dir / "people/real/1.jpg"))
    assert {row["label"] for row in scores} == {"real", "fake"}
    square = Image.new("RGB", (48, 48), (200, 30, 90))
    assert tuple(classifier.image_processor(square, return_tensors="pt")["pixel_values"].shape[-2:]) == (32, 32)
    _, processor = load_detector(tmp_path)
    entry = model_entry(name)
    spec = input_spec(processor)
    assert (spec["image_size"], list(spec["mean"]), list(spec["std"])) == (32, list(entry.mean), list(entry.std))


def test_paper_cnn_has_the_published_size():
    parameters = sum(p.numel() for p in create_model("paper_cnn").parameters())
    assert 130_000 < parameters < 150_000  # "about 0.14M" for the public re-implementations


def test_unknown_model_name_lists_the_registered_ones():
    with pytest.raises(KeyError, match="paper_cnn"):
        create_model("resnet9000")


def test_a_from_scratch_model_can_continue_from_a_trained_folder(trained_tiny_model, tmp_path):
    trained = AutoModelForImageClassification.from_pretrained(trained_tiny_model)
    continued = create_model("paper_cnn", pretrained_path=str(trained_tiny_model))
    fresh = create_model("paper_cnn")
    for name, weight in trained.state_dict().items():
        assert torch.equal(continued.state_dict()[name], weight), name
    assert any(not torch.equal(fresh.state_dict()[name], w) for name, w in trained.state_dict().items())

    with pytest.raises(ValueError, match="do not fit the configured 'realfake-cifar-resnet'"):
        create_model("resnet", pretrained_path=str(trained_tiny_model))
    with pytest.raises(FileNotFoundError, match="train.py wrote"):
        create_model("paper_cnn", pretrained_path=str(tmp_path))


def test_trained_folder_loads_with_auto_classes_and_runs_in_a_pipeline(trained_tiny_model, mini_cifake_zip):
    model = AutoModelForImageClassification.from_pretrained(trained_tiny_model)
    processor = AutoImageProcessor.from_pretrained(trained_tiny_model)
    assert type(model).__name__ == "PaperCNNForImageClassification"
    with zipfile.ZipFile(CIFAKE_ZIP) as archive:
        image = Image.open(io.BytesIO(archive.read("test/FAKE/0 (10).jpg")))
        image.load()
    detector = pipeline("image-classification", model=str(trained_tiny_model))
    scores = {row["label"]: row["score"] for row in detector(image)}
    assert set(scores) == {"real", "fake"} and sum(scores.values()) == pytest.approx(1, abs=1e-5)
    with torch.inference_mode():
        direct = torch.softmax(model(**processor(image, return_tensors="pt")).logits, -1)[0, 1].item()
    assert scores["fake"] == pytest.approx(direct, abs=1e-5)


def test_pipeline_and_project_inference_agree(trained_tiny_model, mini_cifake_zip):
    """The decode-once training/evaluation path and the saved image processor see the same pixels."""
    test = import_dataset("cifake", str(mini_cifake_zip))["test"].select(range(8))
    model, processor = load_detector(trained_tiny_model)
    ours = predict_split(model, processor, test)
    detector = pipeline("image-classification", model=str(trained_tiny_model))
    theirs = [next(r["score"] for r in detector(image) if r["label"] == "fake") for image in test["image"]]
    assert ours == pytest.approx(theirs, abs=1e-4)
