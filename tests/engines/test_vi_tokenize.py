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
