"""Sweeps on Dask: every cell equals the serial library's value; resumes lose and duplicate nothing."""

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

import cloudpickle  # noqa: E402  (a dependency of distributed)
from distributed import Client, LocalCluster  # noqa: E402

from spechub_theory import acceptance_rate, cli, load_logged, optimal_acceptance_rate, sweep as sweeps  # noqa: E402
from spechub_theory.sweep import assemble, plan, sweep, synthetic_dataset, write_table  # noqa: E402

# Functions of this module travel to the worker processes by value (they cannot import tests/).
cloudpickle.register_pickle_by_value(sys.modules[__name__])

#: The grid of the tests: the shipped data's 901 positions at T = 1, two methods, chunks of 300.
GRID = dict(methods=["rrs", "spechub"], k=2, temperatures=[1.0])


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def shipped():
    data = load_logged(None, 1.0)
    return data.p[:], data.q[:]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small LLM-like dataset (901 positions like the shipped one, V = 2000, 32 tokens stored)."""
    return synthetic_dataset(tmp_path_factory.mktemp("small") / "data", positions=901, vocab=2000, top_k=32, seed=3)


def test_every_cell_on_a_local_cluster_equals_the_serial_library(client, shipped):
    p, q = shipped
    table = sweep(None, **GRID, scheduler=client, chunk=300)
    assert list(table["method"]) == ["rrs", "spechub"] and set(table["positions"]) == {len(p)}
    for _, row in table.iterrows():
        exact = acceptance_rate(p, q, row["method"], 2)
        best = optimal_acceptance_rate(p, q, "iid" if row["method"] == "rrs" else "hub", 2)
        assert abs(row["acceptance"] - exact.mean()) < 1e-12
        assert abs(row["optimum"] - best.mean()) < 1e-12
        # the standard error of a mean over positions, from its definition
        assert abs(row["acceptance_se"] - np.sqrt(((exact - exact.mean()) ** 2).sum() / (exact.size * (exact.size - 1)))) < 1e-12
    assert table.attrs["peak_rss_mb"] > 0


def test_per_position_rows_equal_acceptance_rate_row_by_row(small):
    data = load_logged(small)
    p, q = data.p[:], data.q[:]
    table = sweep(small, ["rrs_wo"], [2], [1.0], optimum=False, per_position=True, scheduler="threads", chunk=400)
    assert list(table["position"]) == list(range(len(p)))
    np.testing.assert_allclose(table["acceptance"], acceptance_rate(p, q, "rrs_wo", 2), rtol=0, atol=1e-12)


def test_top_p_is_the_engines_nucleus_step(shipped):
    p, q = shipped
    nucleus = sweeps._top_p(p[:20], 0.9)
    for row, cut in zip(p[:20], nucleus):
        order = np.argsort(-row, kind="stable")
        mass = np.cumsum(row[order])
        kept = order[: int(np.searchsorted(mass, 0.9)) + 1]  # the smallest prefix holding 0.9
        np.testing.assert_allclose(cut[kept], row[kept] / row[kept].sum(), rtol=1e-12)
        assert cut[np.setdiff1d(np.arange(row.size), kept)].sum() == 0


def test_an_interrupted_sweep_resumes_to_the_same_table(small, tmp_path, monkeypatch):
    whole = sweep(small, **GRID, scheduler="sync", chunk=300)
    calls, failed, original = [], [], sweeps.chunk_values

    def failing_once(data, lo, hi, *args):
        calls.append(lo)
        if lo == 600 and not failed:
            failed.append(lo)
            raise RuntimeError("task failed")
        return original(data, lo, hi, *args)

    monkeypatch.setattr(sweeps, "chunk_values", failing_once)
    checkpoint = tmp_path / "out.parquet.partial"
    with pytest.raises(RuntimeError, match="task failed"):
        sweep(small, **GRID, scheduler="sync", chunk=300, checkpoint=checkpoint)
    finished = sorted(p.name for p in checkpoint.glob("chunk_*.npz"))
    assert "chunk_0000000600_0000000900.npz" not in finished  # the others may or may not have run first
    calls.clear()
    again = sweep(small, **GRID, scheduler="sync", chunk=300, checkpoint=checkpoint)
    assert 600 in calls and all(f"chunk_{lo:010d}_" not in " ".join(finished) for lo in calls)  # only missing chunks
    assert again.equals(whole)
    with pytest.raises(ValueError, match="other settings .*cells"):
        sweep(small, ["rrs"], 2, 1.0, scheduler="sync", chunk=300, checkpoint=checkpoint)


def _dies_once(marker, *task):
    """A chunk task whose worker process dies the first time it runs the chunk at position 300."""
    function, *args = task
    if args[1] == 300 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return function(*args)


def test_a_worker_that_dies_mid_run_loses_and_duplicates_no_chunk(client, small, tmp_path):
    cells, tasks = plan(small, **GRID, chunk=300, checkpoint=tmp_path / "ckpt")
    marker = str(tmp_path / "died")
    futures = client.compute([__import__("dask").delayed(_dies_once, pure=False)(marker, *t) for t in tasks])
    results = client.gather(futures)
    assert os.path.exists(marker)  # a worker did die
    table = assemble(results, cells, True, False, positions=901)
    expected = sweep(small, **GRID, scheduler="sync", chunk=300)
    np.testing.assert_allclose(table["acceptance"], expected["acceptance"], rtol=0, atol=1e-12)
    assert sorted(p.name for p in (tmp_path / "ckpt").glob("chunk_*")) == [
        f"chunk_{lo:010d}_{min(lo + 300, 901):010d}.npz" for lo in (0, 300, 600, 900)]


def test_bad_input_is_refused_before_any_task(tmp_path, monkeypatch):
    checkpoint = tmp_path / "ckpt"
    with pytest.raises(ValueError, match="methods: unknown methods 'rrss'"):
        sweep(None, ["rrss"], 2, 1.0, checkpoint=checkpoint)
    with pytest.raises(ValueError, match="k: method 'spechub' is not defined for k = 3"):
        sweep(None, ["spechub"], [2, 3], 1.0, checkpoint=checkpoint)
    with pytest.raises(ValueError, match=r"temperatures: 1.5: this dataset supports 0 < temperature <= 1, got 1.5"):
        sweep(None, ["rrs"], 2, 1.5, checkpoint=checkpoint)
    assert not checkpoint.exists()
    with pytest.raises(ValueError, match=r"data: process \d+ cannot open /nonexistent"):
        sweeps._run_chunk("/nonexistent", 0, 1, [("rrs", 2, 1.0)], None, False, None)


def test_an_unreachable_scheduler_is_a_clear_error_within_the_timeout(monkeypatch):
    monkeypatch.setattr(sweeps, "CONNECT_TIMEOUT", 2)
    tic = time.perf_counter()
    with pytest.raises(ValueError, match="scheduler: no Dask scheduler answered at tcp://127.0.0.1:9 within 2 s"):
        sweep(None, ["rrs"], 2, 1.0, scheduler="tcp://127.0.0.1:9")
    assert time.perf_counter() - tic < 30


def test_the_synthetic_dataset_is_what_it_stores(tmp_path):
    path = synthetic_dataset(tmp_path / "big", positions=50, vocab=3000, top_k=8, chunk=16, seed=1)
    data = load_logged(path)
    p = data.p[:]
    assert p.shape == (50, 3000) and np.all((p > 0).sum(1) == 8)
    np.testing.assert_allclose(p.sum(1), 1, atol=1e-12)
    table = sweep(path, ["rrs"], 2, 1.0, scheduler="sync", chunk=20)
    assert abs(table["acceptance"][0] - acceptance_rate(p, data.q[:], "rrs", 2).mean()) < 1e-12
    with pytest.raises(ValueError, match="exists; pass overwrite=True"):
        synthetic_dataset(path, positions=5, vocab=30, top_k=2)


def test_the_sweep_command_writes_parquet_and_never_overwrites(small, tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "results.parquet"
    args = ["sweep", "--data", str(small), "--methods", "rrs", "--k", "2", "--temperatures", "1", "--out", str(out), "--scheduler", "sync"]
    assert cli.main(args) == 0
    table = pd.read_parquet(out)
    assert list(table["method"]) == ["rrs"] and not (tmp_path / "results.parquet.partial").exists()
    assert cli.main(args) == 2
    assert "exists; pass overwrite=True (--overwrite" in capsys.readouterr().err
    (tmp_path / "mine.parquet").write_text("not a table")
    assert cli.main(args[:-4] + ["--out", str(tmp_path / "mine.parquet"), "--overwrite"]) == 2
    assert (tmp_path / "mine.parquet").read_text() == "not a table"
    write_table(table, out, overwrite=True)


def test_draft_counts_per_method_give_the_serial_values(small):
    data = load_logged(small)
    p, q = data.p[:], data.q[:]
    table = sweep(small, ["single", "rrs"], {"single": 1, "rrs": [2, 3]}, 1.0, optimum=False, scheduler="sync",
                  chunk=400)
    assert [(m, k) for m, k in zip(table["method"], table["k"])] == [("single", 1), ("rrs", 2), ("rrs", 3)]
    for _, row in table.iterrows():
        assert abs(row["acceptance"] - acceptance_rate(p, q, row["method"], int(row["k"])).mean()) < 1e-12
    with pytest.raises(ValueError, match=r"k: no draft counts given for methods \['rrs'\]"):
        sweep(small, ["single", "rrs"], {"single": 1}, 1.0)
    with pytest.raises(ValueError, match=r"k: draft counts given for methods not in methods: \['kseq'\]"):
        sweep(small, ["single"], {"single": 1, "kseq": 2}, 1.0)
    with pytest.raises(ValueError, match="k: method 'single' is not defined for k = 2"):
        sweep(small, ["single"], {"single": 2}, 1.0)


def test_synthetic_token_ids_are_distinct_and_uniform():
    from scipy.stats import chisquare

    from spechub_theory.sweep import _distinct_tokens

    tokens = _distinct_tokens(np.random.default_rng(0), 20_000, 8, 10)  # 8 of 10: repeats are common
    assert all(len(set(row)) == 8 for row in tokens[:2000])
    # Without replacement and uniform: each id appears in a row with probability 8/10, and the
    # first column is uniform over the 10 ids.
    counts = np.bincount(tokens.ravel(), minlength=10)
    assert np.allclose(counts / 20_000, 0.8, atol=0.02)
    assert chisquare(np.bincount(tokens[:, 0], minlength=10)).pvalue > 1e-4


#: Every built-in method at each draft count the test rows exercise (short rows included).
EVERY_METHOD = {"single": [1], "rrs": [1, 2, 3], "rrs_wo": [2, 3], "spechub": [2], "kseq": [2, 3], "nss": [2, 3],
                "greedy": [2, 3]}


@pytest.fixture(scope="module")
def ragged(tmp_path_factory):
    """Positions of V = 40 that store 1..12 tokens each, out of token order, with tied logits.

    Position 0 is the case that breaks a wrong column order: the draft's two largest logits tie at
    tokens 9 and 3, stored 9 first, so the hub (and the top token of q) must be 3. Position 1 holds
    two tokens, one of them outside the draft's support (logit -inf): q is one-hot there. Position 2
    has a token only the target holds and one only the draft holds. The rest are random, their
    logits rounded to integers so that ties in q and in p/q are common.
    """
    from spechub_theory.logged import write_logged

    rng = np.random.default_rng(7)
    ninf = -np.inf
    rows = [([9, 3, 7, 1], [3.0, 0.0, 0.0, -1.0], [2.0, 2.0, 0.0, 1.0]),
            ([30, 4], [0.0, 1.0], [0.0, ninf]),
            ([12, 0, 39, 5, 21, 8], [1.0, ninf, 0.0, 2.0, 1.0, 0.5], [1.0, 0.0, 1.0, ninf, 0.5, 2.0])]
    for size in rng.integers(1, 13, 60):
        tokens = rng.choice(40, size, replace=False)
        rows.append((tokens, np.round(rng.normal(0, 1.5, size)), np.round(rng.normal(0, 1.5, size))))
    entries = {"offsets": np.concatenate([[0], np.cumsum([len(r[0]) for r in rows])]),
               "tokens": np.concatenate([r[0] for r in rows]),
               "target_logits": np.concatenate([r[1] for r in rows]),
               "draft_logits": np.concatenate([r[2] for r in rows]),
               "prompt_ids": np.zeros(len(rows)), "steps": np.arange(len(rows)),
               "context": np.zeros(0), "context_offsets": np.array([0, 0])}
    meta = {"vocab_size": 40, "temperature": 1.0, "max_tail_mass": None, "models": {}, "hashes": {}}
    return write_logged(tmp_path_factory.mktemp("ragged") / "data", meta, entries)


def test_compact_rows_are_the_dense_rows_on_the_stored_tokens(ragged):
    data = load_logged(ragged, 0.5)
    p, q = sweeps.stored_rows(data, 1, 40)
    dense_p, dense_q = data.p[1:40], data.q[1:40]
    offsets, tokens = data.arrays["offsets"], data.arrays["tokens"]
    assert p.shape == q.shape == (39, int(np.diff(offsets[1:41]).max()))
    for i in range(39):
        stored = np.sort(tokens[offsets[1 + i]:offsets[2 + i]])
        for compact, dense in ((p, dense_p), (q, dense_q)):
            np.testing.assert_array_equal(compact[i, :stored.size], dense[i, stored])  # bit for bit
            assert not compact[i, stored.size:].any()
            assert dense[i, np.setdiff1d(np.arange(40), stored)].sum() == 0  # nothing left out


def test_every_method_and_optimum_on_ragged_tied_rows_equal_the_serial_library(ragged):
    from spechub_theory.verifiers import VERIFIERS

    for t in (1.0, 0.5):
        data = load_logged(ragged, t)
        p, q = data.p[:], data.q[:]
        table = sweep(ragged, list(EVERY_METHOD), EVERY_METHOD, t, per_position=True, scheduler="sync", chunk=25)
        for (method, k), rows in table.groupby(["method", "k"]):
            law = VERIFIERS[method].law
            np.testing.assert_allclose(rows["acceptance"], acceptance_rate(p, q, method, int(k)), rtol=0, atol=1e-12,
                                       err_msg=f"{method}, k = {k}, T = {t}")
            np.testing.assert_allclose(rows["optimum"], optimal_acceptance_rate(p, q, law, int(k)), rtol=0, atol=1e-12,
                                       err_msg=f"the {law} optimum, k = {k}, T = {t}")
    # The data does test the tie: with the tie at position 0 broken the other way (token 9 as the
    # hub), SpecHub's acceptance there is another number.
    data = load_logged(ragged, 1.0)
    p0, q0 = data.p[0], data.q[0]
    assert q0[3] == q0[9] == q0.max()
    swap = np.arange(40)
    swap[[3, 9]] = [9, 3]
    assert abs(acceptance_rate(p0[swap], q0[swap], "spechub", 2) - acceptance_rate(p0, q0, "spechub", 2)) > 0.1


def test_the_command_line_chunk_default_is_the_library_one():
    from spechub_theory import cli
    from spechub_theory.sweep import CHUNK

    args = cli._parser().parse_args(["sweep", "--out", "x.parquet", "--methods", "rrs", "--k", "2"])
    assert args.chunk == CHUNK


def test_methods_of_one_draft_law_each_get_its_optimum(small):
    """A chunk computes a draft law's optimum once for all the methods drafting from it: every row
    still carries the optimum of its own (law, k, temperature), as the serial library gives it on the
    dense rows (iid for single, rrs and kseq; hub for spechub)."""
    grid = {"single": 1, "rrs": [1, 2], "kseq": [2, 3], "spechub": 2}
    table = sweep(small, list(grid), grid, [0.7, 1.0], scheduler="sync", chunk=250)
    assert len(table) == 12
    for t in (0.7, 1.0):
        data = load_logged(small, t)
        p, q = data.p[:], data.q[:]
        for _, row in table[table["temperature"] == t].iterrows():
            law = "hub" if row["method"] == "spechub" else "iid"
            assert abs(row["optimum"] - optimal_acceptance_rate(p, q, law, int(row["k"])).mean()) < 1e-12


def test_the_benchmark_times_each_run_repeatedly_and_reports_the_fastest(tmp_path):
    data = synthetic_dataset(tmp_path / "bench", positions=600, vocab=500, top_k=16, seed=1)
    lines = sweeps.benchmark(data, {"rrs": [2]}, (1.0,), chunk=200, repeats=2)
    assert [line["run"].split(",")[0] for line in lines] == ["serial loop over the same chunks", "sweep", "sweep", "sweep"]
    assert lines[3]["run"].endswith("QUIET_WORKERS")
    for line in lines:
        assert len(line["all_seconds"]) == 2 and line["seconds"] == min(line["all_seconds"]) > 0
        assert line["throughput"] == pytest.approx(600 / line["seconds"])
    assert lines[0]["ratio"] == 1.0
    assert lines[1]["ratio"] == pytest.approx(lines[0]["seconds"] / lines[1]["seconds"])
    with pytest.raises(ValueError, match="repeats"):
        sweeps.benchmark(data, {"rrs": [2]}, (1.0,), repeats=0)


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="VmHWM is Linux's")
def test_a_workers_peak_memory_is_its_own_not_its_parents():
    """A process started by a large one reports its own peak: Linux's ``ru_maxrss`` keeps the
    parent's resident size at the fork (here 300 MB held by this process) across the ``exec``."""
    import subprocess

    held = np.ones(300 * 2**17)  # 300 MB, touched
    code = ("import resource; from spechub_theory.sweep import peak_rss_mb; "
            "print(peak_rss_mb(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    own, inherited = map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                               check=True).stdout.split())
    assert held.sum() == held.size and inherited > 300  # what ru_maxrss says: the parent's size
    assert own < inherited - 200  # the child's own peak: an interpreter with the library imported


def test_a_registered_method_runs_on_worker_processes(client, small):
    """The worker processes know only the built-in methods; a sweep carries the caller's registered
    verifier to them. Registered with RRS's own procedure and closed form, it must give RRS's values
    (computed on the dense rows, since it is not built in), on the cluster and on local processes."""
    from spechub_theory import VERIFIERS, register_verifier

    register_verifier("rrs_again", "iid", VERIFIERS["rrs"].procedure, positions=VERIFIERS["rrs"].positions)
    try:
        data = load_logged(small)
        p, q = data.p[:], data.q[:]
        for scheduler in (client, None):
            table = sweep(small, ["rrs_again"], 2, 1.0, scheduler=scheduler, chunk=300)
            assert abs(table["acceptance"].iloc[0] - acceptance_rate(p, q, "rrs", 2).mean()) < 1e-12
            assert abs(table["optimum"].iloc[0] - optimal_acceptance_rate(p, q, "iid", 2).mean()) < 1e-12
    finally:
        del VERIFIERS["rrs_again"]


def test_a_registered_draft_law_travels_with_its_verifier(client, small):
    """A verifier on a registered draft law needs that law on the workers too (its support rule and its
    optimum). The law here is i.i.d. under another name, and the verifier is RRS's procedure on it, so
    every value must be RRS's and the i.i.d. optimum's (an independent closed form, the prefix search),
    on the cluster and on local processes; a worker without the law would fail with 'unknown law'."""
    from spechub_theory import DRAFT_LAWS, VERIFIERS, register_draft_law, register_verifier
    from spechub_theory.drafts import IID

    class Copied(IID):
        pass

    register_draft_law(Copied("iid_copied"))
    register_verifier("rrs_copied", "iid_copied", VERIFIERS["rrs"].procedure, positions=VERIFIERS["rrs"].positions)
    try:
        data = load_logged(small)
        p, q = data.p[:], data.q[:]
        for scheduler in (client, None):
            table = sweep(small, ["rrs_copied"], 2, 1.0, scheduler=scheduler, chunk=300)
            assert table["law"].iloc[0] == "iid_copied"
            assert abs(table["acceptance"].iloc[0] - acceptance_rate(p, q, "rrs", 2).mean()) < 1e-12
            assert abs(table["optimum"].iloc[0] - optimal_acceptance_rate(p, q, "iid", 2).mean()) < 1e-12
    finally:
        del VERIFIERS["rrs_copied"], DRAFT_LAWS["iid_copied"]


def test_the_quiet_worker_settings_are_dasks_own_and_reach_the_workers():
    """Each key of QUIET_WORKERS must be one of Dask's settings (a misspelt key would set nothing and
    change nothing, silently), its environment form must read back to the same values through Dask's
    own parser, and set before a LocalCluster starts they must be what its worker processes run with."""
    import dask

    from spechub_theory.sweep import QUIET_WORKERS, QUIET_WORKERS_ENV

    for key in QUIET_WORKERS:
        dask.config.get(key)  # KeyError for a setting Dask does not have
    parsed = dask.config.collect_env(QUIET_WORKERS_ENV)
    with dask.config.set(parsed):
        assert {key: dask.config.get(key) for key in QUIET_WORKERS} == QUIET_WORKERS
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert dict(re.findall(r"\b(DASK_[A-Z_]+)=(\S+)", readme)) == QUIET_WORKERS_ENV  # as the README writes them
    with dask.config.set(QUIET_WORKERS), \
            LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as c:
        seen = c.run(lambda: {key: dask.config.get(key) for key in QUIET_WORKERS})
    assert list(seen.values()) == [QUIET_WORKERS]
    assert dask.config.get("distributed.admin.tick.interval") != "1s"  # and left as it was afterwards
