# The README's commands. Everything installs itself into .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
PG_CI_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test
PORT ?= 8000

# Under CI=true the PostgreSQL run is mandatory; elsewhere it runs when TEST_DATABASE_URL is set.
ifeq ($(CI),true)
TEST_DATABASE_URL ?= $(PG_CI_URL)
endif
export TEST_DATABASE_URL

.PHONY: install browser run test bench dispatcher clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

DEMO_ADMIN := demo.admin
DEMO_PASSWORD := omura-demo-2026

run: install
	$(FLASK) db upgrade
	$(FLASK) jobs generate --count 3000 --seed 1 --if-empty
	$(FLASK) simulator demo-users
	@$(FLASK) staff list | grep -q "^$(DEMO_ADMIN)\b" || \
		echo "$(DEMO_PASSWORD)" | $(FLASK) staff create $(DEMO_ADMIN) --name デモ管理者 --role admin --password-stdin
	@echo "Demo bot:     http://127.0.0.1:$(PORT)/  (webhook: POST /callback)"
	@echo "Console:      http://127.0.0.1:$(PORT)/console/  sign in as $(DEMO_ADMIN) / $(DEMO_PASSWORD)"
	@echo "Simulator:    http://127.0.0.1:$(PORT)/simulator/  (chat with the bot in a browser)"
	@echo "Play LINE:    .venv/bin/python -m simulator.send --url http://127.0.0.1:$(PORT) follow   (then: text 求人 ...)"
	PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)} $(FLASK) run --port $(PORT) --with-threads

# Browser tests drive Debian's chromium; Japanese fonts make screenshots readable.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		echo "installing chromium and fonts-noto-cjk (apt)"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	fi

test: install browser
	@if [ "$(CI)" = "true" ] && [ -z "$(TEST_DATABASE_URL)" ]; then echo "CI needs PostgreSQL" >&2; exit 1; fi
	@echo "databases: sqlite$(if $(TEST_DATABASE_URL), + postgresql,)"
	$(PY) -m pytest -n 2 --dist loadfile -q $(PYTEST_ARGS)

bench: install
	$(PY) -m bench $(BENCH_ARGS)

dispatcher: install
	$(FLASK) dispatcher

clean:
	rm -rf $(VENV) instance .pytest_cache
