"""Start-up of the `lic` command, as a ratio to a baseline measured in the same run.

    python bench/startup.py           # quick: 21 runs of each
    python bench/startup.py --full    # 61 runs of each
    python bench/startup.py --smoke   # 3 runs of each: runs, no figure

Prints the median wall time of `lic --version` and of `lic token verify` (on a real token
this script issues in a temporary directory first) as a ratio to the median wall time of
`python -c "import click, cryptography.hazmat.primitives.asymmetric.ed25519"`, the least a
click command that verifies an Ed25519 signature imports. Each run is a fresh process; the
three commands take turns, so each sees the same load on a shared machine. Every process
caches bytecode in one temporary directory (PYTHONPYCACHEPREFIX), as an installed package
has its .pyc files: with PYTHONDONTWRITEBYTECODE set, our modules would be compiled at every
start while the baseline's libraries come precompiled from their wheels.
Target (issue 13): both ratios <= 2.0.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LICENSE = ROOT / "examples" / "academic-research.toml"
TARGET = 2.0
BASELINE = [sys.executable, "-c", "import click, cryptography.hazmat.primitives.asymmetric.ed25519"]
# the installed `lic` script beside this interpreter, as users run it; else the module
_SCRIPT = Path(sys.executable).with_name("lic")
LIC = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "cli.main"]


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall seconds of one run of ``cmd``, which must succeed."""
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=False)
    spent = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode(errors='replace')}")
    return spent


def setup(work: Path, env: dict[str, str]) -> None:
    """A keyring with a trusted issuer and a token it issued to a holder, in ``work``."""
    for args in (
        ["keys", "new", "issuer"],
        ["keys", "new", "holder"],
        ["keys", "export", "issuer", "--format", "pem", "-o", "issuer.pub"],
        ["keys", "export", "holder", "--format", "pem", "-o", "holder.pub"],
        ["trust", "add", "issuer.pub", "--role", "issuer", "--name", "issuer"],
        ["token", "issue", "--key", "issuer", "--holder", "holder.pub",
         "--license", str(LICENSE), "-o", "t.jwt"],
    ):  # fmt: skip
        run([*LIC, *args], env, work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--full", action="store_true", help="more runs (slower, steadier)")
    ap.add_argument("--smoke", action="store_true", help="3 runs of each: runs, no figure")
    args = ap.parse_args()
    n = 3 if args.smoke else 61 if args.full else 21
    with tempfile.TemporaryDirectory(prefix="lic-startup-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "LIC_HOME": str(work / "keys"), "PYTHONPATH": str(ROOT),
               "PYTHONPYCACHEPREFIX": str(work / "pycache")}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        setup(work, env)
        commands = {
            "baseline": BASELINE,
            "lic --version": [*LIC, "--version"],
            "lic token verify": [*LIC, "token", "verify", "t.jwt"],
        }
        for cmd in commands.values():  # warm the file cache and the bytecode
            run(cmd, env, work)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(n):
            for name, cmd in commands.items():
                times[name].append(run(cmd, env, work))
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians["baseline"]
    print(f"median wall time of {n} runs each, interleaved (target: ratio <= {TARGET})")
    print(f"  {'baseline (import click, ed25519)':34s} {base * 1000:7.1f} ms")
    ratios = {}
    for name in ("lic --version", "lic token verify"):
        ratios[name] = medians[name] / base
        print(f"  {name:34s} {medians[name] * 1000:7.1f} ms   ratio {ratios[name]:5.2f}")
    held = all(r <= TARGET for r in ratios.values())
    print(
        f"summary: --version {ratios['lic --version']:.2f}, token verify "
        f"{ratios['lic token verify']:.2f} of the baseline; target <= {TARGET} "
        f"{'holds' if held else 'does not hold'}"
    )


if __name__ == "__main__":
    main()
