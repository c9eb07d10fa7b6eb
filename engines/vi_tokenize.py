"""underthesea's Vietnamese sentence and word tokenizers, without its optional modules.

``import underthesea`` eagerly imports every optional pipeline (translate, classify, sentiment, dependency
parsing, lang_detect, agent, address), and the translate one pulls in transformers and torch: 1-5 s and
~230 MiB for a summary that takes 0.05 s. Its package init already treats a failed optional import as
"absent", so those modules are marked absent before the first import; the CRF tokenizers bantin uses are
unaffected. A process that imported underthesea earlier keeps it as it is.
"""

import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

_UNUSED = ("underthesea.pipeline.translate", "underthesea.pipeline.classification",
           "underthesea.pipeline.sentiment", "underthesea.pipeline.dependency_parse",
           "underthesea.pipeline.lang_detect", "underthesea.agent", "underthesea.address")


_LOADING = threading.Lock()


@lru_cache(maxsize=1)
def _tokenizers() -> tuple[Callable[..., Any], Callable[..., Any]]:
    # A warm worker runs several productions in threads of one process: underthesea loads its CRF models on
    # first use without a lock (a second thread then found a model without its featurizer), so they are
    # loaded here, once, under one.
    with _LOADING:
        return _load()


def _load() -> tuple[Callable[..., Any], Callable[..., Any]]:
    if "underthesea" not in sys.modules:
        blocked = [m for m in _UNUSED if m not in sys.modules]
        for name in blocked:
            sys.modules[name] = None  # type: ignore[assignment]  # a None entry makes its import raise ImportError
        try:
            import underthesea
        finally:
            for name in blocked:  # later explicit imports of these modules work normally
                if sys.modules.get(name, 0) is None:
                    del sys.modules[name]
    else:
        import underthesea
    underthesea.word_tokenize("khởi động")
    underthesea.sent_tokenize("Khởi động.")
    return underthesea.sent_tokenize, underthesea.word_tokenize


def sent_tokenize(text: str) -> list[str]:
    return list(_tokenizers()[0](text))


def word_tokenize(text: str) -> list[str]:
    return list(_tokenizers()[1](text))
