"""Throughput of the real trainer against a bare DCGAN loop on the same models and data.

Both train the configured models for --steps steps, interleaved over --rounds rounds in one
process: (a) `checkerboard_gan.training.run.train` with its probes and logging, at the configured
`log.every` and at `log.every=10`, (b) a bare loop over the same models, optimisers, batch size
and in-memory data, with no probes, no logging. Prints the trainer/bare ratio and the probe share
(probes and evaluations over wall time) for both intervals.
Also prints the model FLOPs per step (torch.utils.flop_counter), the achieved FLOP/s and the
machine's measured matmul peak.

    python scripts/bench.py --arch dcgan32 --rounds 5 --steps 100
    python scripts/bench.py --arch default -- train.amp=true
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir
from torch.utils.flop_counter import FlopCounterMode

from checkerboard_gan.config import Config, config_dir, register_configs, validate
from checkerboard_gan.devices import resolve_device
from checkerboard_gan.training.run import train
from checkerboard_gan.training.trainer import build

DCGAN = [
    "upsample=deconv",
    "upsample.kernel=4",
    "upsample.stride=2",
    "disc=strided",
    "disc.kernel=4",
    "disc.stride=2",
]
ARCHS = {
    "dcgan32": [*DCGAN, "model.g_channels=64", "model.d_channels=64", "dataset.image_size=32"],
    "dcgan64": [*DCGAN, "model.g_channels=64", "model.d_channels=64", "dataset.image_size=64"],
    "default": [],
}


def compose_config(overrides: list[str]) -> Config:
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir())):
        return validate(compose("config", overrides=overrides))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare_loop(cfg: Config, steps: int) -> tuple[float, float]:
    """The canonical DCGAN loop (pytorch/examples style); returns (images/s, flops per step)."""
    device = resolve_device(cfg.device)
    s = build(cfg, device)
    g, d, b = s.generator, s.discriminator, cfg.train.batch_size

    def one_step(i: int) -> None:
        real = s.data.batch(i)
        fake = g(torch.randn(b, cfg.model.z_dim, device=device))
        loss_d = s.loss.d(d(real), d(fake.detach()))
        s.opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        s.opt_d.step()
        loss_g = s.loss.g(d(fake))
        s.opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        s.opt_g.step()

    with FlopCounterMode(display=False) as counter:
        one_step(0)
    s = build(cfg, device)  # fresh models: timed from their first step, as the trainer's are
    g, d = s.generator, s.discriminator
    sync(device)
    start = time.perf_counter()
    for i in range(steps):
        one_step(i)
    sync(device)
    return steps * b / (time.perf_counter() - start), counter.get_total_flops()


def matmul_peak(device: torch.device, n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=sorted(ARCHS), default="dcgan32")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides, after --")
    args = parser.parse_args(argv)
    register_configs()
    cfg = compose_config([*ARCHS[args.arch], f"train.steps={args.steps}", *args.overrides])
    device = resolve_device(cfg.device)
    print(
        f"arch {args.arch} on {device} ({torch.get_num_threads()} threads), batch "
        f"{cfg.train.batch_size}, {args.steps} steps x {args.rounds} rounds, log.every "
        f"{cfg.log.every}, overrides {args.overrides}"
    )
    every = [cfg.log.every, 10]  # the default probe interval, and probing ten times as often
    configs = [
        cfg,
        compose_config(
            [*ARCHS[args.arch], f"train.steps={args.steps}", *args.overrides, "log.every=10"]
        ),
    ]
    ratios = {e: [] for e in every}
    trainer_rates = {e: [] for e in every}
    shares = {e: [] for e in every}
    bare_rates: list[float] = []
    flops = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            runs = [*zip(every, configs, strict=True), ("bare", None)]
            rates = {}
            for which, c in runs if r % 2 == 0 else runs[::-1]:  # interleaved, order alternating
                if c is None:
                    rates["bare"], flops = bare_loop(cfg, args.steps)
                else:
                    m = train(c, Path(tmp, f"round{r}_every{which}"))
                    rates[which] = m["throughput_img_s"]
                    shares[which].append(m["probe_s"] / m["wall_s"])
            bare_rates.append(rates["bare"])
            for e in every:
                trainer_rates[e].append(rates[e])
                ratios[e].append(rates[e] / rates["bare"])
            print(
                f"round {r}: bare {rates['bare']:8.1f} img/s; "
                + "; ".join(
                    f"log.every={e}: trainer {rates[e]:8.1f} img/s ratio {ratios[e][-1]:.3f}"
                    for e in every
                ),
                flush=True,
            )

    def spread(values: list[float], fmt: str = ".3f") -> str:
        return (
            f"min {min(values):{fmt}} median {statistics.median(values):{fmt}} "
            f"max {max(values):{fmt}}"
        )

    peak = matmul_peak(device)
    achieved = flops / cfg.train.batch_size * statistics.median(bare_rates)
    print(f"bare    img/s: {spread(bare_rates, '.1f')}")
    for e in every:
        print(f"log.every={e}: trainer img/s {spread(trainer_rates[e], '.1f')}")
        print(f"log.every={e}: ratio trainer/bare {spread(ratios[e])}")
        print(f"log.every={e}: probe share of the trainer's wall time {spread(shares[e])}")
    print(
        f"model FLOPs per step: {flops / 1e9:.2f} GFLOP; achieved {achieved / 1e9:.1f} "
        f"GFLOP/s (bare median); matmul peak {peak / 1e9:.1f} GFLOP/s "
        f"({100 * achieved / peak:.0f}% of peak)"
    )


if __name__ == "__main__":
    main()
