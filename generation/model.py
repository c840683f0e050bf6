"""The museum's UNet, its noise schedulers, label ids and image conversions.

Everything here is a thin layer over diffusers: `UNet2DModel` with a class embedding for the
museum's labels, `DDPMScheduler` for training noise and `DDIMScheduler` for sampling, both
built from the same `ModelConfig` so that their betas always agree.
"""

from __future__ import annotations

import hashlib
import io
import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch

# Imported from their modules: the package root re-exports dummies under type checking.
from diffusers.models.unets.unet_2d import UNet2DModel
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
from PIL import Image, UnidentifiedImageError

from generation.presets import ModelConfig
from ledger.vocabulary import Emotion, StageRole

__all__ = [
    "EMOTIONS",
    "ROLES",
    "build_unet",
    "checkpoint_hash",
    "class_to_label",
    "grid_png",
    "images_to_tensor",
    "label_to_class",
    "sampling_scheduler",
    "tensor_to_png",
    "training_scheduler",
]

# Definition order of the vocabularies fixes the class ids; new members must be appended.
ROLES: tuple[str, ...] = tuple(member.value for member in StageRole)
EMOTIONS: tuple[str, ...] = tuple(member.value for member in Emotion)

# Decoding limit for donated images (the ledger refuses larger ones at donation time already).
_MAX_PIXELS = 4096 * 4096


def label_to_class(role: str, emotion: str) -> int:
    """Class id of a (stage role, emotion) label: `role_index * n_emotions + emotion_index`."""
    if role not in ROLES:
        raise ValueError(f"unknown stage role {role!r}; expected one of: {', '.join(ROLES)}")
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of: {', '.join(EMOTIONS)}")
    return ROLES.index(role) * len(EMOTIONS) + EMOTIONS.index(emotion)


def class_to_label(class_id: int) -> tuple[str, str]:
    """The (stage role, emotion) a class id stands for; the inverse of `label_to_class`."""
    count = len(ROLES) * len(EMOTIONS)
    if isinstance(class_id, bool) or not isinstance(class_id, int) or not 0 <= class_id < count:
        raise ValueError(f"class id must be an integer in 0..{count - 1}, got {class_id!r}")
    role_index, emotion_index = divmod(class_id, len(EMOTIONS))
    return ROLES[role_index], EMOTIONS[emotion_index]


def build_unet(config: ModelConfig, *, seed: int = 0) -> UNet2DModel:
    """A freshly initialised, class-conditioned UNet on the CPU.

    Initialisation draws from a forked, seeded RNG so that it is reproducible and leaves the
    caller's global torch RNG untouched. With `attention`, every level below the top one and the
    middle block use self-attention; without it the UNet is purely convolutional (fastest on a
    CPU).
    """
    levels = len(config.block_out_channels)
    attn = [config.attention and level > 0 for level in range(levels)]
    down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attn)
    up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attn))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet: UNet2DModel = UNet2DModel(
            sample_size=config.resolution,
            in_channels=config.channels,
            out_channels=config.channels,
            down_block_types=down,
            up_block_types=up,
            block_out_channels=config.block_out_channels,
            layers_per_block=config.layers_per_block,
            norm_num_groups=config.norm_num_groups,
            attention_head_dim=8,
            add_attention=config.attention,
            num_class_embeds=config.num_class_embeddings,
            num_train_timesteps=config.num_train_timesteps,
        )
    return unet


def training_scheduler(config: ModelConfig) -> DDPMScheduler:
    """The forward (noising) process used by the epsilon objective."""
    scheduler: DDPMScheduler = DDPMScheduler(
        num_train_timesteps=config.num_train_timesteps,
        beta_schedule=config.beta_schedule,
        prediction_type="epsilon",
        clip_sample=True,
    )
    return scheduler


def sampling_scheduler(config: ModelConfig) -> DDIMScheduler:
    """DDIM over the training betas; trailing spacing starts few-step sampling at pure noise."""
    scheduler: DDIMScheduler = DDIMScheduler.from_config(
        training_scheduler(config).config, timestep_spacing="trailing"
    )
    return scheduler


def _decode(data: bytes, index: int) -> Image.Image:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"image {index} must be bytes, got {type(data).__name__}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(bytes(data)))
            if img.width * img.height > _MAX_PIXELS:
                raise ValueError(f"image {index} is {img.width}x{img.height} pixels; too large")
            img.load()
    except ValueError:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ) as exc:
        raise ValueError(f"image {index} does not decode: {exc}") from None
    return img


def _prepare(img: Image.Image, config: ModelConfig) -> Image.Image:
    """Flatten transparency onto white (paper), centre-crop to a square, resize, set the mode."""
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(paper, rgba)
    img = img.convert("L" if config.channels == 1 else "RGB")
    side = min(img.size)
    if img.width != img.height:
        left = (img.width - side) // 2
        top = (img.height - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if side != config.resolution:
        size = (config.resolution, config.resolution)
        img = img.resize(size, Image.Resampling.LANCZOS)
    return img


def images_to_tensor(png_bytes_list: Sequence[bytes], config: ModelConfig) -> torch.Tensor:
    """Decode donated images into an (N, C, R, R) float32 batch in [-1, 1].

    Accepts whatever Pillow decodes (PNG, JPEG, WebP); non-square images are centre-cropped
    rather than stretched so that a donor's proportions survive.
    """
    if isinstance(png_bytes_list, bytes | bytearray):
        raise ValueError("images_to_tensor takes a sequence of images, not one image's bytes")
    arrays = []
    for index, data in enumerate(png_bytes_list):
        img = _prepare(_decode(data, index), config)
        array = np.asarray(img, dtype=np.uint8)
        if array.ndim == 2:
            array = array[:, :, None]
        arrays.append(array)
    if not arrays:
        shape = (0, config.channels, config.resolution, config.resolution)
        return torch.empty(shape, dtype=torch.float32)
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()
    return (batch / 127.5 - 1.0).contiguous()


def _to_uint8(t: torch.Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] to an (H, W, C) uint8 array, rounding to the nearest level."""
    scaled = ((t.detach().float().cpu().clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    return scaled.to(torch.uint8).permute(1, 2, 0).numpy()


def tensor_to_png(t: torch.Tensor) -> bytes:
    """PNG bytes of one image tensor, (C, H, W) or (H, W), values in [-1, 1]; 1 channel gives a
    grey PNG and 3 an RGB one. Encoding is deterministic, so equal tensors give equal bytes."""
    if t.ndim == 2:
        t = t.unsqueeze(0)
    if t.ndim != 3 or t.shape[0] not in (1, 3):
        raise ValueError(f"expected an image tensor of shape (1|3, H, W), got {tuple(t.shape)}")
    array = _to_uint8(t)
    img = Image.fromarray(array[:, :, 0], "L") if array.shape[2] == 1 else Image.fromarray(array)
    buffer = io.BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def grid_png(batch: torch.Tensor, columns: int | None = None) -> bytes:
    """One PNG tiling an (N, C, H, W) batch row by row, for progress previews."""
    if batch.ndim != 4 or batch.shape[0] == 0:
        raise ValueError(f"expected a non-empty (N, C, H, W) batch, got {tuple(batch.shape)}")
    n, c, h, w = batch.shape
    cols = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = torch.ones((c, rows * h, cols * w), dtype=batch.dtype, device=batch.device)
    for index in range(n):
        r, k = divmod(index, cols)
        canvas[:, r * h : (r + 1) * h, k * w : (k + 1) * w] = batch[index]
    return tensor_to_png(canvas)


def checkpoint_hash(model: torch.nn.Module | Mapping[str, torch.Tensor]) -> str:
    """sha256 over a state dict: for each key in sorted order, the key, dtype, shape and the raw
    bytes of the contiguous CPU tensor. Identical weights give identical hashes on any device,
    so the ledger can name a checkpoint by it."""
    state = model.state_dict() if isinstance(model, torch.nn.Module) else model
    digest = hashlib.sha256()
    for key in sorted(state):
        tensor = state[key].detach().cpu().contiguous()
        header = f"{key}\0{tensor.dtype}\0{tuple(tensor.shape)}\0"
        digest.update(header.encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
