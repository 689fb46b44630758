"""Training images as batches on the training device, from the source named by `dataset.name`.

Data that fits in `dataset.max_memory_mb` (every built-in set at 64 px or less) is decoded and
resized once and kept as one uint8 tensor on the device; a batch is then one indexing op, with
no per-sample Python work in the training loop. Larger data streams through a DataLoader with
worker processes. Either way batch `i` is a function of (seed, i): each epoch is a permutation
seeded by (seed, epoch), so a run can resume at any step without a sampler state.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

from checkerboard_gan.config import ConfigError, DatasetConfig, FileDatasetConfig
from checkerboard_gan.data.sources import (
    SOURCES,
    DatasetError,
    decode_all,
    estimated_mb,
    report_unreadable,
    settle_channels,
)


def to_signed(images: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1]."""
    return images.float().div_(127.5).sub_(1.0)


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


def _check_size(num: int, batch_size: int) -> None:
    if num < batch_size:
        raise ConfigError(
            f"train.batch_size={batch_size} is larger than the dataset ({num} images)"
        )


class InMemoryBatches:
    """A uint8 image tensor kept on the device; batches are drawn by indexing it."""

    def __init__(self, images: torch.Tensor, batch_size: int, seed: int) -> None:
        _check_size(images.shape[0], batch_size)
        self.images, self.batch_size, self.seed = images, batch_size, seed
        self.per_epoch = images.shape[0] // batch_size
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = _epoch_generator(self.seed, epoch)
            self._order = torch.randperm(self.images.shape[0], generator=g).to(self.images.device)
            self._epoch = epoch
        return self._order

    def batch(self, index: int) -> torch.Tensor:
        """Batch number `index` as float (B, C, H, W) in [-1, 1]."""
        epoch, pos = divmod(index, self.per_epoch)
        idx = self._permutation(epoch)[pos * self.batch_size : (pos + 1) * self.batch_size]
        return to_signed(self.images[idx])

    def fixed(self, num: int) -> torch.Tensor:
        """A fixed batch of up to `num` real images (the same for the whole run), in [-1, 1]."""
        g = torch.Generator().manual_seed(self.seed + 7)
        idx = torch.randperm(self.images.shape[0], generator=g)[:num].to(self.images.device)
        return to_signed(self.images[idx])


def _stack_decoded(items: list[torch.Tensor | None]) -> torch.Tensor:
    """The decodable items of a batch; none at all is a DatasetError, not an empty stack."""
    found = [x for x in items if x is not None]
    if not found:
        raise DatasetError(
            f"none of {len(items)} images read could be decoded (corrupt, unsupported or over "
            "PIL's size limit); check the files under dataset.root"
        )
    return torch.stack(found)


class StreamingBatches:
    """Batches decoded on the fly by DataLoader workers, for data too large for memory."""

    def __init__(
        self, dataset: Dataset, batch_size: int, seed: int, workers: int, device: torch.device
    ) -> None:
        _check_size(len(dataset), batch_size)
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.workers, self.device = workers, device
        self.per_epoch = len(dataset) // batch_size
        self._iter, self._next = None, (-1, -1)

    def _start(self, epoch: int, pos: int) -> None:
        sampler = RandomSampler(self.dataset, generator=_epoch_generator(self.seed, epoch))
        loader = DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=True,
            num_workers=self.workers,
            collate_fn=_stack_decoded,
            # fork works inside joblib's loky workers, where spawn fails (Hydra #964)
            multiprocessing_context="fork" if self.workers else None,
            pin_memory=self.device.type == "cuda",
        )
        self._iter = iter(loader)
        for _ in range(pos):  # resuming mid-epoch: skip what was already seen
            next(self._iter)

    def batch(self, index: int) -> torch.Tensor:
        epoch, pos = divmod(index, self.per_epoch)
        if (epoch, pos) != self._next:
            self._start(epoch, pos)
        self._next = (epoch, pos + 1)
        return to_signed(next(self._iter).to(self.device, non_blocking=True))

    def fixed(self, num: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed + 7)
        idx = torch.randperm(len(self.dataset), generator=g)[:num].tolist()
        return to_signed(_stack_decoded([self.dataset[i] for i in idx]).to(self.device))


def build_batches(
    cfg: DatasetConfig, batch_size: int, seed: int, device: torch.device | str
) -> InMemoryBatches | StreamingBatches:
    """The configured dataset as batches on `device`, in memory where it fits (a folder's unset
    channels decided from its images)."""
    device = torch.device(device)
    cfg = settle_channels(cfg)
    source = SOURCES.check(cfg)(cfg)
    if isinstance(source, Dataset):  # only file sources give one, so cfg has their fields
        assert isinstance(cfg, FileDatasetConfig)
        what = f"dataset={cfg.name} ({cfg.root})"
        if estimated_mb(len(source), cfg) > cfg.max_memory_mb:
            report_unreadable(source, what)
            return StreamingBatches(source, batch_size, seed, cfg.workers, device)
        source = decode_all(source, cfg.workers, what)
    return InMemoryBatches(source.to(device), batch_size, seed)
