import numpy as np
import pytest
import torch

from realfake_hf.data import import_dataset, with_model_inputs
from realfake_hf.explain import EXPLAINERS, methods_for
from realfake_hf.explain.agreement import agreement, pointing_hit, top_k_iou
from realfake_hf.explain.rollout import discard_weakest, outlier_tokens, rollout
from realfake_hf.models import create_model, list_models, model_entry


@pytest.fixture(scope="module")
def cifake_images(mini_cifake_zip):
    test = import_dataset("cifake", str(mini_cifake_zip))["test"]
    return test.select([0, 1, 30, 31])  # two fakes and two reals


def _pixels(images, name):
    entry = model_entry(name)
    return with_model_inputs(images, 32, mean=entry.mean, std=entry.std)[:]["pixel_values"]


@pytest.mark.parametrize("name", list_models())
def test_every_applicable_method_gives_normalised_maps_of_the_input_shape(name, cifake_images):
    torch.manual_seed(0)
    model = create_model(name, image_size=32).eval()
    pixels = _pixels(cifake_images, name)
    methods = methods_for(model)
    assert ("rollout" in methods) == (model.config.model_type in ("vit", "dinov2"))
    for method in methods:
        maps = EXPLAINERS[method](model, pixels, 1)
        assert maps.shape == (4, 32, 32), method
        assert np.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1 + 1e-6, method


def test_rollout_of_identity_attention_is_uniform():
    identity = torch.eye(17).expand(2, 17, 17)
    cls_row = rollout([identity] * 6)
    assert torch.allclose(cls_row[:, 1:], cls_row[:, 1:2].expand(-1, 16))
    uniform = torch.full((2, 17, 17), 1 / 17)
    patches = rollout([uniform] * 3)[:, 1:]
    assert torch.allclose(patches, patches[:, :1].expand(-1, 16))


def test_rollout_follows_attention_to_one_patch():
    weights = torch.full((1, 5, 5), 0.01)
    weights[0, :, 3] = 0.96  # every token attends to token 3
    cls_row = rollout([weights / weights.sum(-1, keepdim=True)] * 2)
    assert cls_row[0, 1:].argmax().item() == 2  # token 3 is the third patch


def test_discard_keeps_the_diagonal_and_drops_the_weakest():
    weights = torch.tensor([[[0.5, 0.1, 0.4], [0.05, 0.9, 0.05], [0.3, 0.3, 0.4]]])
    kept = discard_weakest(weights, 0.34)  # 3 of 9 entries
    assert torch.equal(torch.diagonal(kept[0]), torch.diagonal(weights[0]))
    assert (kept == 0).sum() == 3 and kept[0, 1, 0] == 0 and kept[0, 0, 1] == 0


def test_high_norm_tokens_are_found():
    hidden = torch.ones(1, 10, 8)
    hidden[0, 7] *= 50
    mask = outlier_tokens(hidden, n_prefix=1, factor=5)
    assert mask[0].nonzero().flatten().tolist() == [7]


def test_agreement_of_identical_and_of_disjoint_maps():
    rng = np.random.default_rng(0)
    saliency = rng.random((32, 32))
    same = agreement(saliency, saliency.copy())
    assert same["iou_top10"] == 1 and same["iou_top20"] == 1 and same["spearman"] == pytest.approx(1)
    assert same["pointing_hit"]
    left = np.zeros((4, 4))
    left[:, :2] = 1
    right = 1 - left
    assert top_k_iou(left, right, 0.5) == 0 and not pointing_hit(left, right, 0.5)
    assert agreement(saliency, -saliency)["spearman"] == pytest.approx(-1)


def test_deletion_hurts_more_with_the_true_map_than_with_its_inverse():
    """A model that only looks at the top-left quarter: the map of that quarter must be the faithful one."""
    from realfake_hf.explain.faithfulness import area_under_curve, perturbation_curves

    class QuarterModel(torch.nn.Module):
        def forward(self, pixel_values):
            score = pixel_values[:, :, :16, :16].mean(dim=(1, 2, 3)) * 20
            return type("Output", (), {"logits": torch.stack([-score, score], dim=1)})()

    pixels = torch.full((4, 3, 32, 32), 0.8)
    true_map = np.zeros((4, 32, 32), dtype=np.float32)
    true_map[:, :16, :16] = 1
    model = QuarterModel()
    deletion_true = area_under_curve(perturbation_curves(model, pixels, true_map, 1, "deletion"))
    deletion_inverse = area_under_curve(perturbation_curves(model, pixels, 1 - true_map, 1, "deletion"))
    assert (deletion_true < deletion_inverse - 0.2).all()
    curves = perturbation_curves(model, pixels, true_map, 1, "insertion", steps=8)
    assert curves.shape == (4, 9) and curves[:, -1] == pytest.approx(curves[:, -1].max())


def test_central_share_of_known_maps():
    from realfake_hf.explain.faithfulness import central_share

    uniform = np.ones((1, 32, 32))
    centre = np.zeros((1, 32, 32))
    centre[:, 12:20, 12:20] = 1
    border = 1 - np.pad(np.ones((1, 24, 24)), ((0, 0), (4, 4), (4, 4)))
    shares = central_share(np.concatenate([uniform, centre, border]))
    assert shares[0] == pytest.approx(23 * 23 / 1024, abs=0.01) and shares[1] == 1 and shares[2] == 0


def test_explain_report_writes_metrics_tables_and_figures(trained_tiny_model, mini_cifake_zip, tmp_path):
    import json

    from realfake_hf.explain.report import explain_split

    metrics = explain_split(trained_tiny_model, tmp_path, "cifake", "test", str(mini_cifake_zip), max_samples=24,
                            batch_size=10, steps=4)
    assert metrics["n"] == 24 and metrics["methods"] == ["gradcam", "gradcam++"]
    overall = metrics["summaries"]["all"]
    for key in ("deletion_auc_gradcam", "insertion_auc_random", "central_share_gradcam++",
                "iou_top10_gradcam_vs_gradcam++", "spearman_gradcam_vs_gradcam++"):
        assert 0 <= overall[key] <= 1 or key.startswith("spearman"), key
    assert {"label=real", "label=fake", "content=bird"} <= set(metrics["summaries"])
    saved = json.loads((tmp_path / "explain_metrics.json").read_text())
    assert saved["n"] == 24 and len(saved["mean_curves"]["gradcam deletion"]) == 5
    for figure in ("deletion_insertion.png", "central_share.png", "agreement.png"):
        assert (tmp_path / figure).stat().st_size > 5_000
    assert list(tmp_path.glob("gallery_*.png"))


def test_explain_report_logs_a_gallery_table_to_offline_wandb(trained_tiny_model, mini_cifake_zip, tmp_path,
                                                               monkeypatch):
    from realfake_hf.explain.report import explain_split, overlay_classes

    assert overlay_classes(np.array([[0.0, 0.5], [0.99, 1.0]]), scale=2, levels=5).tolist() == [
        [0, 0, 2, 2], [0, 0, 2, 2], [4, 4, 4, 4], [4, 4, 4, 4]]
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    explain_split(trained_tiny_model, tmp_path, "cifake", "test", str(mini_cifake_zip), max_samples=8,
                  batch_size=8, steps=2, gallery_size=2, report_to_wandb=True)
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    assert list(run_dir.glob("*.wandb")), "the offline run holds its log, for `wandb sync`"
    tables = list((run_dir / "files" / "media" / "table").glob("gallery_*.table.json"))
    assert tables and '"outcome"' in tables[0].read_text()


def test_explanations_are_compared_on_the_images_both_models_explained(tmp_path):
    import pandas as pd

    from realfake_hf.explain.compare import main

    def report(name, files, labels, shares):
        folder = tmp_path / name
        folder.mkdir()
        n = len(files)
        pd.DataFrame({"file_name": files, "label": labels, "content": ["cat"] * n, "correct": [True] * (n - 1) + [False],
                      "central_share_gradcam": shares, "deletion_auc_gradcam": [0.1] * n, "insertion_auc_gradcam": [0.9] * n,
                      "central_share_random": [0.5] * n, "deletion_auc_random": [0.5] * n,
                      "insertion_auc_random": [0.5] * n}).to_csv(folder / "per_image.csv", index=False)
        return str(folder)

    cnn = report("cnn", ["a.jpg", "b.jpg", "c.jpg"], ["fake", "real", "fake"], [0.2, 0.4, 0.9])
    vit = report("vit", ["b.jpg", "a.jpg"], ["real", "fake"], [0.8, 0.6])
    table = main([cnn, vit, "--output_dir", str(tmp_path / "out")]).set_index(["model", "method", "group"])

    assert table.loc[("cnn", "gradcam", "all"), "n"] == 2  # c.jpg was explained by one model only
    assert table.loc[("cnn", "gradcam", "all"), "central_share"] == pytest.approx(0.3)
    assert table.loc[("vit", "gradcam", "all"), "central_share"] == pytest.approx(0.7)
    assert table.loc[("vit", "gradcam", "label=fake"), "central_share"] == pytest.approx(0.6)
    assert table.loc[("cnn", "random", "content=cat"), "insertion_auc"] == pytest.approx(0.5)
    assert table.loc[("cnn", "gradcam", "all"), "accuracy"] == pytest.approx(1.0)  # the wrong one was c.jpg
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "| vit | gradcam | label=real | 1 | 1.000 | 0.800 | 0.100 | 0.900 |" in readme and "content=" not in readme.split("|---")[1]
    assert (tmp_path / "out" / "central_share_by_content.png").stat().st_size > 5_000
