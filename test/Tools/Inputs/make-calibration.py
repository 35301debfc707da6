#!/usr/bin/env python3
"""Writes the calibration archives of lattice-compile-degenerate-data.test
into the folder given: samples of the three-layers model's [2, 64] input,
each degenerate in one way (normal.npz is not)."""

import pathlib
import sys

import numpy as np


def main():
    folder = pathlib.Path(sys.argv[1])
    rng = np.random.default_rng(0)
    normal = rng.standard_normal((4, 2, 64)).astype(np.float32)
    denormal = normal.copy()
    denormal[1, 0, 5] = 1e-40
    outlier = normal.copy()
    outlier[2, 1, 7] = 1e6
    archives = {
        "normal": normal,
        "one": normal[:1],
        "constant": np.full((4, 2, 64), 3, np.float32),
        "zero": np.zeros((4, 2, 64), np.float32),
        "denormal": denormal,
        "outlier": outlier,
    }
    for name, samples in archives.items():
        np.savez(folder / f"{name}.npz", input0=samples)


if __name__ == "__main__":
    main()
