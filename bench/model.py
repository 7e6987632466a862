"""Throughput of the OMS manifest (lic.oms.manifest_of) as a ratio to sha256sum, same run.

    python bench/model.py                 # a 300 MB model directory
    python bench/model.py --size-mb 600   # a bigger one

Writes a model-shaped directory in a temporary directory (weight shards that share
``--size-mb``, a config and a tokenizer), then hashes it with ``manifest_of`` (in this
process, ``--workers`` threads, default one per core up to 8) and with ``sha256sum`` over the
same files (one subprocess). Each is run twice and the second run is timed, so both read a
warm page cache. Prints both throughputs and the ratio ours / sha256sum, and checks that
both computed the same file digests. Target (issue 18): ratio >= 0.9.

GNU sha256sum has its own SHA-256 code, while hashlib calls OpenSSL, which uses the CPU's SHA
instructions where it has them: most of the ratio is that difference. So, when the
``openssl`` command exists, ``openssl dgst -sha256`` (the same SHA-256 code as ours, one
process, one file after another) is timed too and its ratio printed beside.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lic.oms import manifest_of

TARGET = 0.9
SMALL = {"config.json": 700, "tokenizer.json": 2_000_000, "tokenizer/merges.txt": 500_000}


def make_model(root: Path, size_mb: int, shards: int) -> list[str]:
    """Write the model under ``root``; return its file names."""
    names = []
    shard = size_mb * 1024 * 1024 // shards
    for i in range(shards):
        names.append(f"model-{i + 1:05}-of-{shards:05}.safetensors")
    sizes = {**{n: shard for n in names}, **SMALL}
    for name, size in sizes.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            left = size
            while left:
                n = min(left, 16 * 1024 * 1024)
                f.write(os.urandom(n))
                left -= n
    return sorted(sizes)


def time_ours(root: Path, workers: int | None) -> tuple[float, dict[str, str]]:
    """Seconds for the second of two runs of ``manifest_of``, and its digests."""
    for _ in range(2):
        start = time.perf_counter()
        m = manifest_of(root, workers=workers)
        spent = time.perf_counter() - start
    return spent, {r.name: r.digest for r in m.resources}


def time_command(root: Path, command: list[str]) -> tuple[float, dict[str, str]]:
    """Seconds for the second of two runs of ``command`` (it prints ``HEX NAME`` lines, as
    ``sha256sum`` and ``openssl dgst -r`` do), and the digests it printed."""
    for _ in range(2):
        start = time.perf_counter()
        out = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
        spent = time.perf_counter() - start
    digests = {}
    for line in out.stdout.splitlines():
        digest, name = line.split(" ", 1)
        digests[name.lstrip(" *")] = digest
    return spent, digests


def main() -> None:
    """Run the benchmark and print one result line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size-mb", type=int, default=300, help="total size of the weight shards")
    p.add_argument("--shards", type=int, default=6, help="number of weight shards")
    p.add_argument("--workers", type=int, default=None, help="manifest_of threads")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        root = Path(tmp) / "model"
        names = make_model(root, args.size_mb, args.shards)
        total = sum((root / n).stat().st_size for n in names) / 1e6
        ours, our_digests = time_ours(root, args.workers)
        theirs, their_digests = time_command(root, ["sha256sum", "--", *names])
        openssl = None
        if shutil.which("openssl"):
            openssl = time_command(root, ["openssl", "dgst", "-sha256", "-r", *names])
    for what, digests in (("sha256sum", their_digests), ("openssl", (openssl or (0, {}))[1])):
        if digests and digests != our_digests:
            raise SystemExit(f"manifest_of and {what} disagree on a file digest")
    line = (
        f"{total:.0f} MB in {len(names)} files, {os.cpu_count()} cores: "
        f"manifest_of {total / ours:.0f} MB/s ({ours:.2f} s), "
        f"sha256sum {total / theirs:.0f} MB/s ({theirs:.2f} s), "
        f"ratio {theirs / ours:.2f} (target >= {TARGET})"
    )
    if openssl is not None:
        line += f"; openssl dgst {total / openssl[0]:.0f} MB/s, ratio {openssl[0] / ours:.2f}"
    print(line)


if __name__ == "__main__":
    main()
