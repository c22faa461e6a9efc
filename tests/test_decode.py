"""The speculative-decoding engine (spechub_theory.llm.decode) on two tiny random Llama models.

The models share a vocabulary of 12 tokens, so every law is small enough to compare with exact
values; they need torch and transformers but no weights.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.llm
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from spechub_theory import Tree, acceptance_rate  # noqa: E402
from spechub_theory.llm.decode import DynamicTree, Scorer, decode, first_two, grow_dynamic, step  # noqa: E402
from spechub_theory.llm.generate import sample  # noqa: E402
from spechub_theory.llm.validate import pair_pvalue  # noqa: E402
from spechub_theory.synthetic import process  # noqa: E402

V = 12
CONTEXT = [3, 1, 4, 1, 5, 9, 2, 6]


def tiny_llama(seed: int, sharpness: float):
    torch.manual_seed(seed)
    config = transformers.LlamaConfig(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    model = transformers.LlamaForCausalLM(config).eval()
    with torch.no_grad():
        model.lm_head.weight.mul_(sharpness)  # random init gives near-uniform laws; sharpen them
    return model


@pytest.fixture(scope="module")
def models():
    # Models this small run 6x faster on one thread than on two when other jobs share the cores.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield tiny_llama(0, 10.0), tiny_llama(2, 10.0)  # single-draft acceptance 0.62 at the context
    torch.set_num_threads(threads)


def fresh_logits(model, ids):
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0, -1].double().numpy()


def test_cached_scoring_equals_fresh_forward_passes(models):
    target, draft = models
    scorer = Scorer(target, draft, CONTEXT, memo=1)
    paths = [(), (7,), (2,), (7, 0), (5, 5), (1, 2, 3)]
    for m, model in enumerate(models):
        got = scorer.logits(m, paths)
        for row, path in zip(got, paths):
            np.testing.assert_allclose(row, fresh_logits(model, CONTEXT + list(path)), atol=1e-4)
        np.testing.assert_array_equal(scorer.logits(m, paths[:3]), got[:3])  # kept paths come back unchanged
    scorer.advance([7, 0])
    np.testing.assert_allclose(scorer.logits(0, [(11,)])[0], fresh_logits(target, CONTEXT + [7, 0, 11]), atol=1e-4)


def test_a_depth_one_step_emits_one_plus_the_acceptance_rate(models):
    # With the root's children as leaves, a step emits 1 + [root kept a draft] tokens, so its expected
    # length is 1 + alpha exactly, alpha = acceptance_rate at the root (an independent closed form).
    target, draft = models
    scorer = Scorer(target, draft, CONTEXT, memo=2)
    p, q = (process(scorer.last[m], 0.8) for m in (0, 1))
    rng = np.random.default_rng(0)
    for method, k in (("rrs", 2), ("spechub", 2), ("rrs_wo", 3)):
        alpha = float(acceptance_rate(p, q, method, k))
        steps = [step(scorer, Tree.from_levels([k]), method, 0.8, rng) for _ in range(1500)]
        emitted = np.array([len(s.emitted) for s in steps])
        expected = np.array([s.expected for s in steps])
        assert np.all((emitted >= 1) & (emitted <= 2))
        assert all(s.root_acceptance == pytest.approx(alpha, abs=1e-12) for s in steps)
        assert abs(expected.mean() - (1 + alpha)) < 5 * expected.std() / np.sqrt(expected.size) + 1e-9
        assert abs(emitted.mean() - (1 + alpha)) < 5 * emitted.std() / np.sqrt(emitted.size)
        assert np.array_equal(emitted == 2, [s.root_kept for s in steps])


def test_decoded_tokens_per_step_agree_with_the_exact_expectation_given_the_trees(models):
    target, draft = models
    steps = [s for seed in range(6) for s in decode(target, draft, CONTEXT, Tree.full(2, 7), "spechub",
                                                    max_new_tokens=60, seed=seed)]
    diff = np.array([len(s.emitted) - s.expected for s in steps])
    assert len(steps) > 100
    assert abs(diff.mean()) < 5 * diff.std(ddof=1) / np.sqrt(diff.size)
    assert all(1 <= len(s.emitted) <= 3 for s in steps)


@pytest.mark.parametrize("method,tree", [("block", Tree.chain(3)), ("traversal", Tree.full(2, 7)),
                                         ("traversal_wo", Tree.full(2, 7)), ("topk", Tree.full(2, 7)),
                                         ("nss", Tree(((1, 2), (3,), (), ())))])
def test_the_engine_runs_every_tree_verifier(models, method, tree):
    # Measured tokens per step against the exact expectation given each drafted tree (paired z-test),
    # and the first two tokens against the target's two-token law (chi-square).
    target, draft = models
    steps = [s for seed in range(3) for s in decode(target, draft, CONTEXT, tree, method, max_new_tokens=60, seed=seed)]
    diff = np.array([len(s.emitted) - s.expected for s in steps])
    assert abs(diff.mean()) < 5 * diff.std(ddof=1) / np.sqrt(diff.size)
    assert all(1 <= len(s.emitted) <= tree.depth + 1 for s in steps)
    scorer = Scorer(target, draft, CONTEXT, memo=2)
    pairs = first_two(scorer, tree, method, 1.0, 1500, np.random.default_rng(3))
    assert pair_pvalue(scorer, pairs, 1.0) > 1e-4


def test_two_token_law_is_the_targets_and_the_check_can_fail(models):
    target, draft = models
    scorer = Scorer(target, draft, CONTEXT, memo=1)
    rng = np.random.default_rng(1)
    for method, tree in (("single", Tree.chain(1)), ("rrs", Tree.full(2, 3)), ("spechub", Tree.full(2, 3))):
        pairs = first_two(scorer, tree, method, 1.0, 3000, rng)
        assert pair_pvalue(scorer, pairs, 1.0) > 1e-4, method
    # Pairs from the draft model's own two-token law: the check must reject them.
    q1 = process(scorer.last[1], 1.0)
    y1 = rng.choice(V, size=3000, p=q1)
    y2 = np.array([rng.choice(V, p=process(scorer.logits(1, [(int(y),)])[0], 1.0)) for y in y1])
    assert pair_pvalue(scorer, np.column_stack([y1, y2]), 1.0) < 1e-6


def _fresh_laws(models, path, temperature):
    """``(p, q)`` after CONTEXT + path from full forward passes (no cache), at ``temperature``."""
    return tuple(process(fresh_logits(m, CONTEXT + list(path)), temperature) for m in models)


def test_a_dynamic_tree_keeps_the_budget_best_of_the_expanded_paths(models):
    # EAGLE-2 by hand with fresh forward passes: depth 2, top_k 2 drafts the root's top-2 tokens a, b
    # of q; both are the frontier (top_k = 2), so each gets its own top-2 children: six candidate
    # paths valued by prod q, of which the budget of 3 keeps the three most probable.
    target, draft = models
    scorer = Scorer(target, draft, CONTEXT, memo=2)
    t = 0.9
    q0 = _fresh_laws(models, (), t)[1]
    first = np.argsort(-q0, kind="stable")[:2]
    candidates = {}
    for a in first:
        candidates[(int(a),)] = q0[a]
        qa = _fresh_laws(models, (int(a),), t)[1]
        for b in np.argsort(-qa, kind="stable")[:2]:
            candidates[(int(a), int(b))] = q0[a] * qa[b]
    best = sorted(candidates, key=lambda c: (-candidates[c], len(c)))[:3]
    drafted = grow_dynamic(scorer, DynamicTree(depth=2, top_k=2, budget=3), t)
    kept = {drafted.path_tokens(v) for v in range(1, drafted.tree.n_nodes)}
    assert kept == set(best) and drafted.tree.n_nodes == 4
    for v in range(drafted.tree.n_nodes):
        p, q = _fresh_laws(models, drafted.path_tokens(v), t)
        np.testing.assert_allclose(drafted.p[v], p, atol=1e-5)
        kids = drafted.tree.children[v]
        if kids:  # the kept children are the most likely tokens of q, in order
            np.testing.assert_allclose(drafted.q[v], q, atol=1e-5)
            assert drafted.drafts(v).tolist() == np.argsort(-q, kind="stable")[: len(kids)].tolist()


def test_a_dynamic_tree_step_expects_one_plus_the_target_mass_of_its_paths(models):
    # topk verification keeps a node with the target probability of its path, so a step emits
    # 1 + sum over drafted nodes of prod p along the path, in expectation (fresh forward passes here).
    target, draft = models
    scorer = Scorer(target, draft, CONTEXT, memo=3)
    spec = DynamicTree(depth=3, top_k=2, budget=5)
    drafted = grow_dynamic(scorer, spec, 1.0)
    mass = 1.0
    for v in range(1, drafted.tree.n_nodes):
        path = drafted.path_tokens(v)
        mass += np.prod([_fresh_laws(models, path[:i], 1.0)[0][path[i]] for i in range(len(path))])
    s = step(scorer, spec, "topk", 1.0, np.random.default_rng(0))
    assert s.expected == pytest.approx(mass, abs=1e-5) and s.nodes == 6


def test_decoding_with_dynamic_trees_matches_the_exact_expectation_and_the_two_token_law(models):
    target, draft = models
    spec = DynamicTree(depth=3, top_k=3, budget=6)
    steps = [s for seed in range(3) for s in decode(target, draft, CONTEXT, spec, "topk", max_new_tokens=60, seed=seed)]
    diff = np.array([len(s.emitted) - s.expected for s in steps])
    assert abs(diff.mean()) < 5 * diff.std(ddof=1) / np.sqrt(diff.size)
    assert all(1 <= len(s.emitted) <= 4 and s.nodes <= 7 for s in steps)
    scorer = Scorer(target, draft, CONTEXT, memo=2)
    pairs = first_two(scorer, spec, "topk", 1.0, 1500, np.random.default_rng(3))
    assert pair_pvalue(scorer, pairs, 1.0) > 1e-4


@pytest.mark.parametrize("make,message", [
    (lambda m: DynamicTree(0, 2, 3), "^depth: must be a positive integer"),
    (lambda m: DynamicTree(2, 2, -1), "^budget:"),
    (lambda m: decode(*m, CONTEXT, DynamicTree(2, 2, 3), "rrs"), "^method: a DynamicTree is verified with 'topk'"),
    (lambda m: step(Scorer(*m, CONTEXT), DynamicTree(2, 2, 3), "traversal", 1.0, np.random.default_rng(0)), "^method:"),
    (lambda m: decode(*m, CONTEXT, [2, 2], "topk"), "^tree: expected a Tree or a DynamicTree"),
    (lambda m: decode(*m, CONTEXT, Tree.full(2, 3), "beam"), "^method:"),
])
def test_bad_dynamic_trees_are_refused_naming_the_argument(models, make, message):
    with pytest.raises(ValueError, match=message):
        make(models)


def test_a_root_without_drafts_is_refused(models):
    with pytest.raises(ValueError, match="root needs at least one draft"):
        step(Scorer(*models, CONTEXT), Tree(((),)), "rrs", 1.0, np.random.default_rng(0))


def test_sampling_puts_the_prompt_on_the_models_device():
    # A model that lives on another device (here "meta") must receive its inputs there.
    class Tokenizer:
        pad_token_id, eos_token_id = 0, 1

        def apply_chat_template(self, messages, add_generation_prompt):
            return [5, 6, 7]

    class Model:
        device = torch.device("meta")

        def generate(self, ids, attention_mask, max_new_tokens, **_):
            assert ids.device == self.device and attention_mask.device == self.device
            return torch.cat([torch.full(ids.shape, 5), torch.full((ids.shape[0], max_new_tokens), 2)], 1)

    [(prompt, generated)] = sample(Model(), Tokenizer(), ["hi"], max_new_tokens=3, seed=0)
    assert prompt.tolist() == [5, 6, 7] and generated.tolist() == [2, 2, 2]


def test_collect_trees_logs_top_k_and_eagle_trees_beside_the_sampled_ones(models, tmp_path, monkeypatch):
    # collect-trees with the tiny models (loading and text sampling stubbed): the log holds the
    # sampled, top-k and EAGLE-2 trees; topk on the top-k trees is the target mass of their paths,
    # from fresh forward passes here, up to the tail mass the stored laws drop.
    import json

    from spechub_theory import LoggedTrees, load_logged
    from spechub_theory.llm import collect_trees as ct

    target, draft = models
    description = {"target": "tiny", "draft": "tiny", "vocab_size": V, "hashes": {},
                   "models": {"target": "tiny", "draft": "tiny"}}
    monkeypatch.setattr(ct, "load_pair", lambda *a: (target, draft, None, "cpu", description))
    # no generated tokens: every root's context is CONTEXT itself
    monkeypatch.setattr(ct, "sample", lambda model, tok, prompts, n, seed, **kw: [(np.array(CONTEXT), np.zeros(0, np.int64))
                                                                                for _ in prompts])
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("\n".join(json.dumps({"prompt": f"p{i}"}) for i in range(2)) + "\n")
    out = ct.collect_trees(prompts, tmp_path / "trees", roots=2, laws=("iid", "top", "eagle"), temperatures=(1.0,),
                           depth=3, log=lambda *_: None)
    data = load_logged(out)
    source = LoggedTrees(data)
    assert data.meta["tree"]["laws"] == ["iid", "top", "eagle"]
    assert len(data) == 2 * (7 + 7 + 5)  # roots x (full 15-node trees' internal nodes twice, EAGLE-2: 1 + 2 + 2)
    tree = Tree.full(2, 15)
    for root, value in zip(source.roots["top"], source.per_tree(tree, "topk")):
        view = source.view(tree, int(root))
        mass = 1.0
        for v in range(1, tree.n_nodes):
            path = view.path_tokens(v)
            mass += np.prod([process(fresh_logits(target, CONTEXT + list(path[:i])), 1.0)[path[i]]
                             for i in range(len(path))])
        assert value == pytest.approx(mass, abs=5e-3)  # the stored laws drop at most 1e-2 of tail mass
    assert source.per_tree_dynamic(4).shape == (2,)
    with pytest.raises(ValueError, match="^branching: deterministic trees draft 17"):
        ct.collect_trees(prompts, tmp_path / "x", laws=("top",), branching=17)
