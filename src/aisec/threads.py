"""How many CPU threads PyTorch uses: one default, overridable with ``--threads`` or
``AISEC_THREADS``.

PyTorch starts one thread per core. On a small machine that also runs other jobs (a CI runner,
a laptop) those threads oversubscribe the cores, and attacks ran several times slower with two
threads than with one on a busy 2-core machine. aisec therefore uses half the cores available to
the process (at least one) unless told otherwise.
"""

from __future__ import annotations

import os

from aisec.errors import ConfigError

ENV = "AISEC_THREADS"
"""Environment variable that sets the thread count."""


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """Half the available cores, at least one."""
    return max(1, available_cores() // 2)


def resolve_threads(requested: int | None = None) -> int:
    """``requested``, else ``AISEC_THREADS``, else :func:`default_threads`; each at least 1."""
    if requested is None:
        raw = os.environ.get(ENV, "").strip()
        if not raw:
            return default_threads()
        try:
            requested = int(raw)
        except ValueError:
            raise ConfigError([f"must be a whole number of threads; got {raw!r}"], ENV) from None
        source = ENV
    else:
        source = "--threads"
    if requested < 1:
        raise ConfigError([f"must be at least 1; got {requested}"], source)
    return requested


def use_threads(requested: int | None = None) -> int:
    """Set PyTorch's intra-op thread count as resolved; returns it."""
    import torch

    n = resolve_threads(requested)
    torch.set_num_threads(n)
    return n
