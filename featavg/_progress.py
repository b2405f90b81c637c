"""Progress bars for long runs (tqdm on stderr; silent when stderr is not a terminal)."""

import contextlib

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


@contextlib.contextmanager
def progress_bar(total, desc, *, enabled=True):
    """Yield an ``update(n)`` callable driving a bar of ``total`` units on stderr.

    ``enabled=False`` or a non-terminal stderr yields a no-op, so ``--json`` output and CI logs
    stay clean.
    """
    if not enabled:
        yield lambda n=1: None
        return
    with tqdm(total=total, desc=desc, disable=None, leave=False, dynamic_ncols=True) as bar:
        yield bar.update
