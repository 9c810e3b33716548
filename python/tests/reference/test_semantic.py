import random

from trace_sentinel.semantic import HashingVectorizer, SemanticNoveltyDetector


def test_hashing_vectorizer_is_l2_normalized():
    vec = HashingVectorizer(dim=64).embed("hello world")
    norm = sum(x * x for x in vec) ** 0.5
    assert abs(norm - 1.0) < 1e-9


def test_hashing_vectorizer_similar_text_high_cosine():
    hv = HashingVectorizer(dim=512)
    a = hv.embed("user login succeeded for svc-web")
    b = hv.embed("user login succeeded for svc-api")
    c = hv.embed("kernel panic 0xDEADBEEF stack overflow")
    cos_ab = sum(x * y for x, y in zip(a, b))
    cos_ac = sum(x * y for x, y in zip(a, c))
    assert cos_ab > cos_ac  # near-identical lines are more similar


def test_semantic_flags_out_of_distribution_message():
    det = SemanticNoveltyDetector(dim=256, warmup=30)
    rng = random.Random(0)
    accounts = ["svc-web", "svc-api", "svc-db", "admin", "guest", "batch"]
    for _ in range(300):
        det.update_and_score(f"user login succeeded for account {rng.choice(accounts)}")
    score = det.update_and_score("0xDEADBEEF /etc/shadow rm -rf --no-preserve-root base64 -d")
    assert score > 3.0


def test_semantic_quiet_during_warmup():
    det = SemanticNoveltyDetector(dim=128, warmup=50)
    for i in range(10):
        assert det.update_and_score(f"line number {i}") == 0.0
    assert not det.ready
