"""``atomic_write``: all or nothing, with the permissions of a plain ``open``."""

import os
import stat

import pytest

from featavg.simulate import atomic_write


def test_atomic_write_uses_the_umask_like_open(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "a.txt", "w") as fh:
            fh.write("x")
        with open(tmp_path / "b.txt", "w") as fh:  # the reference: what open() gives
            fh.write("x")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    assert mode(tmp_path / "a.txt") == mode(tmp_path / "b.txt") == 0o644


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "c.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as fh:
            fh.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.txt"]
