"""The summariser's tokenizers load without underthesea's translate module (transformers, torch)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

PROBE = """
import sys
from engines.summarize import _VietnameseTokenizer
tok = _VietnameseTokenizer()
print(tok.to_sentences("Trạm y tế xã tiêm vắc xin. Mời bà con đến đúng giờ."))
print(tok.to_words("Trạm y tế xã tiêm vắc xin"))
print(sorted(m for m in ("torch", "transformers") if m in sys.modules))
"""


def test_tokenizers_work_without_loading_torch_or_transformers() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr[-2000:]
    sentences, words, heavy = out.stdout.strip().splitlines()
    assert sentences == "('Trạm y tế xã tiêm vắc xin.', 'Mời bà con đến đúng giờ.')"
    assert "'y tế'" in words and "'vắc xin'" in words
    assert heavy == "[]"



def test_threads_loading_the_tokenizers_at_once_all_get_working_ones(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A warm worker's production threads may tokenize first at the same moment: underthesea loads its CRF
    model lazily and without a lock (a thread used to find the model without its featurizer)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import underthesea.pipeline.word_tokenize as ws

    from engines import vi_tokenize

    vi_tokenize.word_tokenize("Ủy ban nhân dân xã")  # underthesea imported
    monkeypatch.setattr(ws, "word_tokenize_model", None)  # as in a fresh process
    vi_tokenize._tokenizers.cache_clear()
    start = threading.Barrier(4)

    def first_use(_: int) -> list[str]:
        start.wait()
        return vi_tokenize.word_tokenize("Ủy ban nhân dân xã thông báo")

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(first_use, range(4)))  # raised AttributeError in three of them before
    assert results == [vi_tokenize.word_tokenize("Ủy ban nhân dân xã thông báo")] * 4
