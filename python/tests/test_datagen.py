"""solvent.datagen against the CLI's npz file, and shards against one process."""

import json
import subprocess

import numpy as np
import pytest

import solvent


def test_arrays_equal_the_npz_written_by_the_cli(tmp_path, solvent_bin):
    path = tmp_path / "d.npz"
    subprocess.run(
        [solvent_bin, "datagen", "helmholtz", "--grid", "16", "--count", "6", "--seed", "3",
         "--strategy", "skr", "--out", str(path), "--quiet"],
        check=True,
    )
    data = solvent.datagen("helmholtz", grid=16, count=6, seed=3, strategy="skr")
    with np.load(path) as f:
        assert set(f.files) == set(data.keys())
        for key in f.files:
            assert f[key].dtype == data[key].dtype, key
            assert f[key].shape == data[key].shape, key
            if key == "solve_s":  # timings
                continue
            if key == "metadata":
                a, b = json.loads(str(f[key])), json.loads(str(data[key]))
                assert a["family"] == b["family"] and a["plan"]["method"] == b["plan"]["method"]
                continue
            assert np.array_equal(f[key], data[key]), key
    assert data["coeff"].shape == (6, 16, 16) and data["coeff"].dtype == np.float32
    # the solutions solve the systems: relres as recorded
    assert (data["relres"] <= 1e-8).all()


def test_out_writes_the_same_file(tmp_path):
    path = tmp_path / "e.npz"
    data = solvent.datagen("darcy", grid=12, count=4, precision="f64", out=path)
    with np.load(path) as f:
        assert np.array_equal(f["sol"], data["sol"]) and f["sol"].dtype == np.float64


@pytest.mark.parametrize("pieces", [2, 3])
def test_shards_put_together_equal_one_process_with_as_many_chains(pieces):
    kw = dict(grid=16, count=11, seed=5, strategy="skr")
    whole = solvent.datagen("darcy", jobs=pieces, **kw)
    parts = [solvent.datagen("darcy", shard=(i, pieces), **kw) for i in range(pieces)]
    # every piece is a contiguous piece of the one global order
    order = whole.report["report"]["order"]
    starts = 0
    for p in parts:
        idx = list(p["index"])
        assert sorted(idx) == sorted(order[starts:starts + len(idx)])
        starts += len(idx)
    merged = solvent.merge_shards(parts)
    for key in ("coeff", "sol", "iters", "relres", "x", "y"):
        assert np.array_equal(merged[key], whole[key]), key


def test_bad_settings_raise_value_errors():
    with pytest.raises(ValueError, match="family"):
        solvent.datagen("nope", grid=8, count=2)
    with pytest.raises(ValueError, match="shard"):
        solvent.datagen("darcy", grid=8, count=4, shard=(4, 4))
    with pytest.raises(ValueError, match="grid"):
        solvent.datagen("darcy", grid=0, count=2)
    a = solvent.datagen("darcy", grid=8, count=4, shard=(0, 2))
    with pytest.raises(ValueError, match="missing or repeated"):
        solvent.merge_shards([a, a])
    # a piece left out is caught too (independent keeps the given order: piece 0 is 0, 1)
    first = solvent.datagen("darcy", grid=8, count=4, strategy="independent", shard=(0, 2))
    with pytest.raises(ValueError, match="2 samples for a data set of 4"):
        solvent.merge_shards([first])

