"""One argument convention across the public API (issue 12, item 2)."""

import inspect

import numpy as np
import pytest

import spechub_theory as st
from spechub_theory import optimal

P = np.array([0.2, 0.3, 0.5])
Q = np.array([0.5, 0.3, 0.2])


@pytest.mark.parametrize("fn, first", [
    (st.acceptance_rate, "method"), (st.acceptance_by_position, "method"), (st.output_distribution, "method"),
    (st.enumerated_acceptance_rate, "method"), (st.enumerated_acceptance_by_position, "method"),
    (st.simulate, "method"), (st.optimal_acceptance_rate, "law"), (st.optimal_cut, "law"), (st.otm, "law"),
])
def test_p_q_then_method_or_law_then_k(fn, first):
    names = list(inspect.signature(fn).parameters)
    assert names[:4] == ["p", "q", first, "k"]
    for name in names[2:]:  # every argument after p, q can be passed by keyword
        assert inspect.signature(fn).parameters[name].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                               inspect.Parameter.KEYWORD_ONLY)


def test_tree_functions_take_tree_method_source():
    for fn in (st.tokens_per_step, st.simulate_tree, st.estimate_tokens_per_step):
        assert list(inspect.signature(fn).parameters)[:3] == ["tree", "method", "source"]


def test_keywords_give_the_positional_values():
    assert st.acceptance_rate(p=P, q=Q, method="spechub", k=2) == st.acceptance_rate(P, Q, "spechub", 2)
    assert st.optimal_acceptance_rate(P, Q, law="wo", k=3) == st.optimal_acceptance_rate(P, Q, "wo", 3)
    assert st.otm(P, Q, law="hub", k=2, form="dense").value == pytest.approx(0.9, abs=1e-9)


def test_k_none_is_the_natural_count():
    # single supports k = 1 only; every other method and law gets 2 drafts
    assert st.acceptance_rate(P, Q, "single") == pytest.approx(0.7, abs=1e-15)  # sum min(p, q)
    assert st.acceptance_rate(P, Q, "spechub") == st.acceptance_rate(P, Q, "spechub", 2)
    assert st.acceptance_by_position(P, Q, "rrs").shape == (2,)
    assert st.simulate(P, Q, "single", n=10, seed=0).k == 1
    assert st.optimal_cut(P, Q, "hub").k == 2
    with pytest.raises(ValueError, match=r"^k: method 'single' supports k = 1 only, got k = 2"):
        st.acceptance_rate(P, Q, "single", 2)


def test_the_old_argument_order_is_refused_not_misread():
    with pytest.raises(ValueError, match=r"^law: unknown law 2"):
        st.optimal_acceptance_rate(P, Q, 2, "hub")
    with pytest.raises(ValueError, match=r"^law: unknown law 2"):
        st.otm(P, Q, 2, "hub")


def test_result_objects_and_estimate_names():
    best = st.optimal_cut(P, Q, "hub", 2)
    assert isinstance(best, st.OptimalCut) and best.value == pytest.approx(0.9) and best.cut.dtype == bool
    sim = st.simulate(P, Q, "rrs", 2, n=1000, seed=0)
    assert sim.estimate == sim.accepted / 1000 and sim.se == pytest.approx(np.sqrt(sim.estimate * (1 - sim.estimate) / 1000))
    pool = st.NodePool(P[None], Q[None])
    for result in (st.simulate_tree(st.Tree.chain(2), "rrs", pool, n=50, seed=0),
                   st.estimate_tokens_per_step(st.Tree.chain(2), "rrs", pool, n=50, seed=0)):
        assert isinstance(result.estimate, float) and isinstance(result.se, float)


def test_otm_plan_type_is_fixed_and_an_inaccurate_lp_is_refused(monkeypatch):
    for form in ("compact", "dense"):
        result = st.otm(P, Q, "iid", 2, form=form)
        assert type(result.plan).__name__ == "csr_matrix" and result.success and result.message == "optimal"
    real = optimal.otm  # the function optimal_acceptance_rate calls

    def inaccurate(*args, **kwargs):
        r = real(*args, **kwargs)
        return type(r)(**{**r.__dict__, "status": "optimal_inaccurate", "success": False, "message": "inaccurate"})

    monkeypatch.setattr(optimal, "otm", inaccurate)
    with pytest.raises(RuntimeError, match=r"^the OTM LP \(law='iid', k=2\) at row 0 was not solved to tolerance"):
        st.optimal_acceptance_rate(P, Q, "iid", 2, solver="lp")
