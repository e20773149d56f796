#!/usr/bin/env python3
"""Writes the small seed corpora of the fuzz targets into fuzz/seeds/<target>/ (deterministic:
gzip with mtime 0). Run from anywhere: python3 fuzz/make_seeds.py"""

import gzip
import pathlib
import shutil
import struct

FUZZ = pathlib.Path(__file__).resolve().parent
SEEDS = FUZZ / "seeds"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def idx_images(n: int, rows: int, cols: int) -> bytes:
    body = bytes(k % 256 for k in range(n * rows * cols))
    return struct.pack(">IIII", 0x803, n, rows, cols) + body


def idx_labels(labels: list[int]) -> bytes:
    return struct.pack(">II", 0x801, len(labels)) + bytes(labels)


def pair(images: bytes, labels: bytes) -> bytes:
    """The idx target's two-file input: u32 LE length of the images file, images, labels."""
    return struct.pack("<I", len(images)) + images + labels


def cifar_batch(labels: list[int]) -> bytes:
    out = bytearray()
    for r, label in enumerate(labels):
        out.append(label)
        out.extend((r + k) % 256 for k in range(3072))
    return bytes(out)


def write(target: str, name: str, data: bytes) -> None:
    (SEEDS / target / name).write_bytes(data)


def main() -> None:
    for target in ("idx", "cifar", "config"):
        shutil.rmtree(SEEDS / target, ignore_errors=True)
        (SEEDS / target).mkdir(parents=True)

    images = idx_images(3, 4, 5)
    labels = idx_labels([0, 9, 3])
    write("idx", "images-3x4x5", images)
    write("idx", "labels-3", labels)
    write("idx", "images-3x4x5.gz", gz(images))
    write("idx", "labels-3.gz", gz(labels))
    write("idx", "pair-3", pair(images, labels))
    write("idx", "pair-3-gz", pair(gz(images), gz(labels)))
    write("idx", "pair-count-mismatch", pair(idx_images(2, 2, 2), labels))

    write("cifar", "batch-1", cifar_batch([7]))
    write("cifar", "batch-2.gz", gz(cifar_batch([3, 9])))

    for toml in sorted((FUZZ.parent / "configs").glob("*.toml")):
        write("config", toml.name, toml.read_bytes())
    write("config", "overrides", b"seed=9\nsampler.step_size=1e-3\nstudents[1].width=[0.5, 0.25]\n"
          b"data.dataset=fashion-mnist\nstudents.0.name=\"quoted\"\n")


if __name__ == "__main__":
    main()
