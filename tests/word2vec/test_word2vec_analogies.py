"""Analogy construction (authors' in-vocabulary pairs) and normalised 3CosAdd scoring; similarity."""
import numpy as np

from repro.experiments.word2vec import analogies as A, features, similarity as S

QUESTIONS = """: capital-common-countries
Athens Greece Baghdad Iraq
Athens Greece Bangkok Thailand
Baghdad Iraq Bangkok Thailand
Bangkok Thailand Cairo Egypt
: family
boy girl brother sister
boy girl king queen
brother sister king queen
: tiny
man woman zzz yyy
"""


def test_in_vocabulary_construction_matches_hand_count(tmp_path):
    f = tmp_path / "questions-words.txt"
    f.write_text(QUESTIONS)
    words = ["athens", "greece", "baghdad", "iraq", "bangkok", "thailand", "cairo",  # egypt missing
             "boy", "girl", "brother", "sister", "king", "queen", "man", "woman"]
    vocab = {w: i for i, w in enumerate(words)}
    qs = A.google_questions(f, vocab)
    # capital: distinct pairs (athens,greece) (baghdad,iraq) (bangkok,thailand) (cairo,egypt); egypt OOV -> 3 kept -> 3*2
    # family: (boy,girl) (brother,sister) (king,queen) -> 3*2; tiny: (man,woman) kept, (zzz,yyy) not -> N=1 -> dropped
    assert qs.sections == ["capital-common-countries", "family"]
    assert len(qs) == 12 and np.bincount(qs.section).tolist() == [6, 6]
    q = set(zip(qs.a.tolist(), qs.b.tolist(), qs.c.tolist(), [min(s) for s in qs.answers]))
    assert (vocab["boy"], vocab["girl"], vocab["king"], vocab["queen"]) in q
    assert (vocab["king"], vocab["queen"], vocab["boy"], vocab["girl"]) in q
    std = A.line_questions(A.parse_google(f), vocab)   # the standard protocol keeps listed, in-vocab lines
    assert len(std) == 3 + 3


def hand_embedding():
    """Words = royalty/gender grid + distractors; b - a + c lands exactly on the answer."""
    words = ["king", "queen", "man", "woman", "prince", "princess", "boy", "girl", "apple", "car"]
    gender, royal, young = np.eye(5)[0], np.eye(5)[1], np.eye(5)[2]
    base = np.eye(5)[3] * 2
    vec = {
        "man": base, "woman": base + gender, "king": base + royal, "queen": base + royal + gender,
        "boy": base + young, "girl": base + young + gender, "prince": base + royal + young,
        "princess": base + royal + young + gender, "apple": np.eye(5)[4], "car": -np.eye(5)[4] + 0.1 * base,
    }
    return words, np.array([vec[w] for w in words]) * 3.0


def test_scorer_gets_hand_built_answers_and_excludes_queries():
    words, W = hand_embedding()
    vocab = {w: i for i, w in enumerate(words)}
    pairs = {"gender": [(m, {f}) for m, f in [("man", "woman"), ("king", "queen"), ("boy", "girl"), ("prince", "princess")]]}
    qs = A.pair_questions(pairs, vocab)
    assert len(qs) == 12
    res = A.evaluate(W, qs)
    assert res["accuracy"] == 1.0 and res["sections"] == {"gender": 1.0}
    # a wrong embedding (rows shuffled) must fail some questions
    assert A.accuracy(W[np.random.default_rng(0).permutation(len(W))], qs) < 1.0
    # excluding the query words: with b = a the query is c itself, which must not be predicted
    same = A.QuestionSet(np.array([vocab["man"]]), np.array([vocab["man"]]), np.array([vocab["king"]]),
                         [{vocab["king"]}], np.array([0]), ["x"])
    assert A.predict(W, same)[0] != vocab["king"]


def test_normalisation_stops_long_vectors_winning():
    words, W = hand_embedding()
    W = W.copy()
    W[words.index("apple")] *= 1000.0     # a long unrelated vector
    vocab = {w: i for i, w in enumerate(words)}
    qs = A.pair_questions({"g": [("man", {"woman"}), ("king", {"queen"})]}, vocab)
    assert A.accuracy(W, qs) == 1.0


def test_bats_and_msr_parsing(tmp_path):
    words, W = hand_embedding()
    vocab = {w: i for i, w in enumerate(words)}
    d = tmp_path / "BATS_3.0" / "4_lexicographic"
    d.mkdir(parents=True)
    (d / "E10 [male - female].txt").write_text("man\twoman\nking\tqueen/queenie\nboy\tlass/girl\nzzz\tyyy\n")
    qs = A.bats_questions(tmp_path / "BATS_3.0", vocab)
    assert qs.sections == ["E10"] and len(qs) == 6
    assert A.accuracy(W, qs) == 1.0       # boy -> girl accepted via the second listed answer
    msr = tmp_path / "msr.csv"
    msr.write_text(",type,word1,word2,word3,target\n0,G,man,woman,king,queen\n1,G,man,woman,zzz,queen\n")
    mq = A.msr_questions(msr, vocab)
    assert len(mq) == 1 and A.accuracy(W, mq) == 1.0


def test_accuracy_vs_rank_and_top_words():
    words, W = hand_embedding()
    M = W @ W.T
    w, v = np.linalg.eigh(M)
    w, v = w[::-1], v[:, ::-1]
    vocab = {x: i for i, x in enumerate(words)}
    qs = A.pair_questions({"g": [(m, {f}) for m, f in [("man", "woman"), ("king", "queen"), ("boy", "girl")]]}, vocab)
    rows = features.accuracy_vs_rank(w, v, qs, [1, 5])
    assert rows[-1]["accuracy"] == 1.0 and rows[0]["accuracy"] < 1.0
    table = features.top_words(v, words, n_pcs=2, n_words=3)
    assert len(table) == 2 and len(table[0]["top"]) == 3
    assert features.rank_grid(200)[:3] == [4, 6, 8] and features.rank_grid(200)[-1] == 200


def test_similarity_spearman(tmp_path):
    words, W = hand_embedding()
    vocab = {w: i for i, w in enumerate(words)}
    f = tmp_path / "ws.tsv"
    f.write_text("# comment\nking\tqueen\t9\nking\tprince\t8\nman\tapple\t1\nking\tcar\t0.5\nfoo\tbar\t3\n")
    pairs = S.read_pairs(f)
    rho, n = S.spearman(W, pairs, vocab)
    assert n == 4 and rho > 0.7
    men = tmp_path / "men.csv"
    men.write_text(",word1,word2,similarity\n0,king-n,queen-n,50\n1,man-n,apple-n,1\n2,car-n,king-n,0\n")
    assert [p[:2] for p in S.read_pairs(men)][0] == ("king", "queen")
