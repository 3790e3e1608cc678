"""Image-to-Image: grey-level denoising of additive Gaussian noise (sigma = 25/255).

Ground truth by a documented procedure: clean 256x256 crops of scikit-learn's bundled photo
``flower.jpg`` (grey, [0, 1]) plus seeded Gaussian noise; the trained networks only ever see
patches of the other bundled photo, ``china.jpg``. Quality is PSNR (dB) of the output against
the clean crop, mapped to a score in (0, 1] by ``score = min(1, PSNR / 50)`` (50 dB is visually
lossless for 8-bit images; the noisy input itself scores about 0.40)."""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np

from profiles.zoo.base import TaskEval, ZooModel

SIGMA = 25.0 / 255.0
CROP = 256  # a small photo: latencies of the size a pipeline really denoises
PSNR_FULL_SCORE_DB = 50.0
DATASET = (
    "scikit-learn load_sample_images: 256x256 grey crops of flower.jpg with seeded Gaussian "
    "noise sigma=25/255 (networks trained on china.jpg only)"
)


@functools.cache
def sample_image(name: str) -> np.ndarray:
    """A bundled sample photo as grey float32 in [0, 1]."""
    from sklearn.datasets import load_sample_image

    rgb = load_sample_image(name).astype(np.float32) / 255.0
    return np.asarray(rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32), np.float32)


def psnr(clean: np.ndarray, out: np.ndarray) -> float:
    mse = float(np.mean((np.clip(out, 0, 1) - clean) ** 2))
    return 99.0 if mse <= 1e-12 else 10.0 * float(np.log10(1.0 / mse))


def psnr_score(preds: list[np.ndarray], clean: list[np.ndarray]) -> float:
    """Mean PSNR (dB) over the set, divided by 50 and capped at 1."""
    mean_db = float(np.mean([psnr(c, p) for p, c in zip(preds, clean, strict=True)]))
    return min(1.0, mean_db / PSNR_FULL_SCORE_DB)


def as_grey(x: Any) -> np.ndarray:
    """uint8 images are scaled by 1/255; float images are taken as [0, 1] (noisy ones may
    stray a little outside), unless their maximum exceeds 2, then they are read as 0..255."""
    raw = np.asarray(x)
    img = raw.astype(np.float32)
    if img.ndim == 3:
        img = img[..., :3].mean(axis=2)
    if img.ndim != 2 or min(img.shape) < 3:
        raise ValueError(f"expected a 2-D grey image of at least 3x3, got shape {img.shape}")
    if raw.dtype == np.uint8 or img.max() > 2.0:
        img = img / 255.0
    return img


class Denoiser(ZooModel):
    task: ClassVar[str] = "Image-to-Image"

    def predict(self, x: Any) -> np.ndarray:
        return np.clip(self.apply(as_grey(x)), 0.0, 1.0).astype(np.float32)

    def apply(self, img: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class GaussianBlur(Denoiser):
    name: ClassVar[str] = "denoise-gaussian"
    summary: ClassVar[str] = "Gaussian filter, sigma 0.8 px (scipy.ndimage)"
    requires: ClassVar[tuple[str, ...]] = ("scipy.ndimage",)

    def _load(self) -> None:
        from scipy import ndimage

        self.nd = ndimage

    def apply(self, img: np.ndarray) -> np.ndarray:
        return np.asarray(self.nd.gaussian_filter(img, sigma=0.8))


class Median(Denoiser):
    name: ClassVar[str] = "denoise-median3"
    summary: ClassVar[str] = "median filter, 3x3 (scipy.ndimage)"
    requires: ClassVar[tuple[str, ...]] = ("scipy.ndimage",)

    def _load(self) -> None:
        from scipy import ndimage

        self.nd = ndimage

    def apply(self, img: np.ndarray) -> np.ndarray:
        return np.asarray(self.nd.median_filter(img, size=3))


class Wiener(Denoiser):
    name: ClassVar[str] = "denoise-wiener5"
    summary: ClassVar[str] = "adaptive Wiener filter, 5x5, noise power sigma^2 (scipy.signal)"
    requires: ClassVar[tuple[str, ...]] = ("scipy.signal",)

    def _load(self) -> None:
        from scipy import signal

        self.signal = signal

    def apply(self, img: np.ndarray) -> np.ndarray:
        return np.asarray(self.signal.wiener(img, 5, SIGMA**2))


class DnCNN(Denoiser):
    """Residual CNN (predicts the noise), trained once on random china.jpg patches."""

    requires: ClassVar[tuple[str, ...]] = ("torch",)
    depth: ClassVar[int] = 3
    channels: ClassVar[int] = 16
    steps: ClassVar[int] = 300

    def build(self) -> Any:
        from torch import nn

        layers: list[Any] = [nn.Conv2d(1, self.channels, 3, padding=1), nn.ReLU()]
        for _ in range(self.depth - 2):
            layers += [nn.Conv2d(self.channels, self.channels, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(self.channels, 1, 3, padding=1))
        return nn.Sequential(*layers)

    def prepare(self) -> None:
        from profiles.zoo.torchutil import train_or_load

        recipe = f"{self.name}|{self.build()!r}|steps={self.steps}|sigma={SIGMA}|china|v1"
        self.net = train_or_load(self.name, recipe, self.build, self._train)

    def _train(self, model: Any) -> None:
        import torch

        img = torch.from_numpy(sample_image("china.jpg"))
        gen = torch.Generator().manual_seed(0)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        patch, batch = 32, 16
        for _ in range(self.steps):
            ys = torch.randint(0, img.shape[0] - patch, (batch,), generator=gen)
            xs = torch.randint(0, img.shape[1] - patch, (batch,), generator=gen)
            clean = torch.stack(
                [
                    img[y : y + patch, x : x + patch]
                    for y, x in zip(ys.tolist(), xs.tolist(), strict=True)
                ]
            )[:, None]
            noise = torch.randn(clean.shape, generator=gen) * SIGMA
            opt.zero_grad()
            loss = torch.mean((model(clean + noise) - noise) ** 2)
            loss.backward()
            opt.step()

    def _load(self) -> None:
        self.net.eval()

    def apply(self, img: np.ndarray) -> np.ndarray:
        import torch

        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(img))[None, None]
            return (x - self.net(x))[0, 0].numpy()


class DnCNNSmall(DnCNN):
    name: ClassVar[str] = "denoise-cnn-3x16"
    summary: ClassVar[str] = "residual CNN, 3 conv layers x 16 channels, trained on china.jpg"


MODELS: tuple[type[Denoiser], ...] = (GaussianBlur, Median, Wiener, DnCNNSmall)


def denoise_eval(limit: int | None = None) -> TaskEval:
    clean = sample_image("flower.jpg")
    rng = np.random.default_rng(0)
    n = 24 if limit is None else limit
    crops, noisy = [], []
    for _ in range(n):
        y = int(rng.integers(0, clean.shape[0] - CROP))
        x = int(rng.integers(0, clean.shape[1] - CROP))
        c = clean[y : y + CROP, x : x + CROP]
        crops.append(c)
        noisy.append((c + rng.normal(0, SIGMA, c.shape)).astype(np.float32))
    return TaskEval(
        task="Image-to-Image",
        metric=f"PSNR score = min(1, mean PSNR dB / {PSNR_FULL_SCORE_DB:g})",
        dataset=f"{DATASET} ({n} crops, seed 0)",
        inputs=noisy,
        expected=crops,
        scorer=psnr_score,
    )
