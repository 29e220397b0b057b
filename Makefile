# seqexpr: `make help` lists the documented commands.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.seqexpr-installed
DEMO_N ?=  # demo size; empty: seqexpr.demo.DEMO_N

.DEFAULT_GOAL := help
.PHONY: help venv demo report variants test lab bench scale accuracy clean

help:  ## List the commands
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[dev]"
	@echo "compiling the motif matcher (Tomtom, numba; once)"
	$(PY) -c "from seqexpr.patterns.jaspar import warm_up; warm_up()"
	@# .gitattributes runs notebooks/*.ipynb through this filter: outputs never reach a commit
	-git config filter.nbclean.clean "$(abspath $(PY)) -m seqexpr.nbclean"
	@touch $(STAMP)

venv: $(STAMP)  ## Create .venv and install the pinned dependencies

demo: $(STAMP)  ## Write the demo dataset (DEMO_N sequences) to data/demo/
	$(PY) -m seqexpr demo --out data/demo $(if $(strip $(DEMO_N)),--n $(DEMO_N))

report: demo  ## Run every notebook on the demo dataset; HTML reports in reports/demo/
	$(PY) -m seqexpr run --fasta data/demo/demo.fa --expression data/demo/demo_expression.csv \
	    --id-column id --target expression --ground-truth data/demo/ground_truth.json --out reports/demo

variants: $(STAMP)  ## After `make report`: saturation maps, truth-checked variant effects and designs (07)
	$(PY) -m seqexpr run --fasta data/demo/demo.fa --expression data/demo/demo_expression.csv \
	    --id-column id --target expression --ground-truth data/demo/ground_truth.json --out reports/demo \
	    --only 07_variants

test: $(STAMP)  ## Run the test suite: pytest for the package, nbval for the notebooks on a small demo
	$(PY) -m seqexpr.nbtest build/nbval
	$(PY) -m pytest tests build/nbval --nbval-lax --nbval-current-env

lab: $(STAMP)  ## Open JupyterLab on lab/: your own copies of the notebooks (git-ignored)
	$(PY) -m ipykernel install --user --name seqexpr --display-name "seqexpr (.venv)"
	@mkdir -p lab; for nb in notebooks/*.ipynb; do test -e lab/$${nb#*/} || cp $$nb lab/; done
	$(VENV)/bin/jupyter lab lab/

bench: $(STAMP)  ## Print the speed and memory figures (bench_encode, bench_train)
	@for b in benchmarks/bench_encode.py benchmarks/bench_train.py; do echo "== $$b"; $(PY) $$b || exit 1; done

scale: $(STAMP)  ## Seconds and peak memory per stage at 100k, 300k and 1M sequences (about an hour on 2 cores)
	$(PY) benchmarks/bench_scale.py

accuracy: $(STAMP)  ## Run the accuracy panel: deep ensemble vs k-mer baselines on 9 datasets
	$(PY) benchmarks/bench_accuracy.py

clean:  ## Remove build outputs (keeps .venv, data/ and reports/)
	rm -rf build .pytest_cache
