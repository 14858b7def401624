"""Attention rollout (Abnar & Zuidema 2020) and its gradient-weighted variant, from a transformer's own
attention weights (the model must run with ``attn_implementation="eager"``; SDPA returns none).

Written here because no maintained library computes rollout for transformers models: pytorch-grad-cam has
no rollout, and the reference implementations are notebooks. The steps follow the paper: fuse the heads of
each layer, optionally drop the weakest ``discard_ratio`` of weights, add the identity for the residual
path, renormalise rows, multiply the layers, and read the CLS row over the patch tokens.

DINOv2 without registers puts a few high-norm "artifact" tokens on background patches that soak up
attention (Darcet et al. 2024). With ``suppress_outlier_tokens`` those tokens (output norm above
``outlier_factor`` x the median patch norm) get no attention in the rollout and their patches the map's mean,
so they neither dominate the map nor leave holes in it.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers import PreTrainedModel

from .layers import patch_grid

HEAD_FUSIONS = ("mean", "max", "min")


def fuse_heads(attention: torch.Tensor, head_fusion: str) -> torch.Tensor:
    """(B, heads, T, T) -> (B, T, T)."""
    if head_fusion == "mean":
        return attention.mean(dim=1)
    if head_fusion == "max":
        return attention.amax(dim=1)
    if head_fusion == "min":
        return attention.amin(dim=1)
    raise ValueError(f"head_fusion must be one of {HEAD_FUSIONS}, got '{head_fusion}'")


def discard_weakest(weights: torch.Tensor, discard_ratio: float) -> torch.Tensor:
    """Zero the lowest ``discard_ratio`` share of each (T, T) matrix, never its diagonal."""
    if discard_ratio <= 0:
        return weights
    batch, tokens, _ = weights.shape
    flat = weights.clone().reshape(batch, -1)
    diagonal = torch.arange(tokens, device=weights.device) * (tokens + 1)
    ranked = flat.clone()
    ranked[:, diagonal] = float("inf")
    count = int(flat.size(1) * discard_ratio)
    lowest = ranked.topk(count, dim=1, largest=False).indices
    flat.scatter_(1, lowest, 0.0)
    return flat.reshape(batch, tokens, tokens)


def rollout(layer_weights: list[torch.Tensor], discard_ratio: float = 0.0, ignored_tokens: torch.Tensor | None = None):
    """Product of residual-corrected, row-normalised (B, T, T) matrices; returns the (B, T) CLS row."""
    batch, tokens, _ = layer_weights[0].shape
    identity = torch.eye(tokens, device=layer_weights[0].device).expand(batch, tokens, tokens)
    result = identity.clone()
    for weights in layer_weights:
        weights = discard_weakest(weights, discard_ratio)
        if ignored_tokens is not None:
            weights = weights * (~ignored_tokens).unsqueeze(1).float()
        mixed = 0.5 * (weights + identity)
        mixed = mixed / mixed.sum(dim=-1, keepdim=True).clamp_min(1e-12)
        result = mixed @ result
    return result[:, 0, :]


def outlier_tokens(hidden_states: torch.Tensor, n_prefix: int, factor: float) -> torch.Tensor:
    """(B, T) mask of patch tokens whose norm exceeds ``factor`` x the image's median patch-token norm."""
    norms = hidden_states.norm(dim=-1)
    patches = norms[:, n_prefix:]
    mask = torch.zeros_like(norms, dtype=torch.bool)
    mask[:, n_prefix:] = patches > factor * patches.median(dim=1, keepdim=True).values
    return mask


def _to_maps(cls_row: torch.Tensor, model, pixel_values, ignored: torch.Tensor | None) -> np.ndarray:
    height, width = pixel_values.shape[-2:]
    grid_h, grid_w = patch_grid(model, height, width)
    patches = cls_row[:, -grid_h * grid_w :].clone()
    if ignored is not None:
        ignored_patches = ignored[:, -grid_h * grid_w :]
        for row, mask in zip(patches, ignored_patches):
            if mask.any() and (~mask).any():
                row[mask] = row[~mask].mean()
    grid = patches.reshape(-1, 1, grid_h, grid_w)
    maps = torch.nn.functional.interpolate(grid, size=(height, width), mode="bilinear", align_corners=False)[:, 0]
    low = maps.amin(dim=(1, 2), keepdim=True)
    span = (maps.amax(dim=(1, 2), keepdim=True) - low).clamp_min(1e-12)
    return ((maps - low) / span).detach().cpu().numpy().astype(np.float32)


def _attentions(model: PreTrainedModel, pixel_values: torch.Tensor, track_gradients: bool):
    if model.config._attn_implementation != "eager":
        model.set_attn_implementation("eager")
    context = torch.enable_grad() if track_gradients else torch.no_grad()
    with context:
        output = model(pixel_values=pixel_values, output_attentions=True, output_hidden_states=True)
    if not output.attentions:
        raise ValueError(f"{type(model).__name__} returned no attention weights")
    return output


def attention_rollout(
    model: PreTrainedModel,
    pixel_values: torch.Tensor,
    target: int | list[int] | None = None,
    head_fusion: str = "mean",
    discard_ratio: float = 0.0,
    suppress_outlier_tokens: bool = False,
    outlier_factor: float = 5.0,
) -> np.ndarray:
    """(B, H, W) maps in [0, 1]. Plain rollout is class-agnostic: ``target`` is accepted and ignored."""
    model.eval()
    output = _attentions(model, pixel_values, track_gradients=False)
    n_prefix = output.attentions[0].shape[-1] - np.prod(patch_grid(model, *pixel_values.shape[-2:]))
    ignored = outlier_tokens(output.hidden_states[-1], int(n_prefix), outlier_factor) if suppress_outlier_tokens else None
    layers = [fuse_heads(attention, head_fusion) for attention in output.attentions]
    return _to_maps(rollout(layers, discard_ratio, ignored), model, pixel_values, ignored)


def gradient_rollout(
    model: PreTrainedModel,
    pixel_values: torch.Tensor,
    target: int | list[int],
    discard_ratio: float = 0.0,
    suppress_outlier_tokens: bool = False,
    outlier_factor: float = 5.0,
) -> np.ndarray:
    """Rollout of attention x its gradient for the ``target`` logit (positive part, mean over heads)."""
    model.eval()
    model.zero_grad()
    output = _attentions(model, pixel_values, track_gradients=True)
    targets = torch.as_tensor(target if isinstance(target, list) else [target] * len(pixel_values))
    score = output.logits.gather(1, targets.view(-1, 1)).sum()
    gradients = torch.autograd.grad(score, output.attentions)
    layers = [(attention * gradient).clamp_min(0).mean(dim=1) for attention, gradient in zip(output.attentions, gradients)]
    n_prefix = output.attentions[0].shape[-1] - np.prod(patch_grid(model, *pixel_values.shape[-2:]))
    ignored = (
        outlier_tokens(output.hidden_states[-1].detach(), int(n_prefix), outlier_factor) if suppress_outlier_tokens else None
    )
    return _to_maps(rollout([layer.detach() for layer in layers], discard_ratio, ignored), model, pixel_values, ignored)


__all__ = ["HEAD_FUSIONS", "attention_rollout", "fuse_heads", "gradient_rollout", "rollout"]
