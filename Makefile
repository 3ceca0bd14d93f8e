# Entry points. Each target installs what it needs (idempotently) before it runs.
#   make demo   build nlk (bin/nlk) and run the demo: base packages only, no tests
#   make test   build everything and run every test
#   make pipeline  build nlk and run the live pipeline until Ctrl-C (scripts/pipeline.sh);
#                  PIPELINE_ARGS="--devices 8 --rate 1000" passes flags to it
#   make bench-check  the quick benchmark suite (bench/run --quick, ~3 min) checked against
#                  bench/history (bench/compare); fails on a regression. Not part of `make test`.
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
JOBS ?= 2

.PHONY: demo test pipeline nlk build bootstrap bootstrap-tests configure unit-tests asan-tests \
	integration-tests format format-check clean bench-check

demo: nlk
	scripts/demo.sh

test: format-check build unit-tests asan-tests integration-tests

pipeline: nlk
	scripts/pipeline.sh run $(PIPELINE_ARGS)

bootstrap:
	scripts/bootstrap.sh

bootstrap-tests:
	scripts/bootstrap.sh --tests

configure: bootstrap
	scripts/phase.sh cmake-configure "cmake: configuring $(BUILD_DIR)" \
	  cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

# The command line alone, linked at bin/nlk (a symbolic link into the build, ignored by git).
nlk: configure
	cmake --build $(BUILD_DIR) -j$(JOBS) --target nlk
	@mkdir -p bin && ln -sfn "$(abspath $(BUILD_DIR))/tools/nlk" bin/nlk
	@echo "nlk is at bin/nlk"

build: bootstrap-tests nlk
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Each suite runs with a temporary directory of its own that must be empty when it ends.
unit-tests: build
	scripts/in-clean-tmp.sh ctest --test-dir $(BUILD_DIR) -L unit --output-on-failure -j$(JOBS)

# The unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
asan-tests: bootstrap-tests
	scripts/phase.sh cmake-configure-asan "cmake: configuring $(ASAN_BUILD_DIR)" \
	  cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNLK_SANITIZE=ON
	cmake --build $(ASAN_BUILD_DIR) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=0 scripts/in-clean-tmp.sh \
	  ctest --test-dir $(ASAN_BUILD_DIR) -L unit --output-on-failure -j$(JOBS)

# Tests against real services (MinIO) and real third-party tools (delta-rs, Spark, Polars,
# DuckDB), all started and stopped by the project's own scripts.
integration-tests: build
	scripts/in-clean-tmp.sh scripts/run-integration-tests.sh $(BUILD_DIR)

# Timing, so never part of `make test`: run it before a release and on performance-sensitive
# changes (docs/benchmarks.md, "Regression checks"). Plots go to bench/data/plots.
bench-check: bootstrap-tests nlk
	cmake --build $(BUILD_DIR) -j$(JOBS) --target nlk_bench
	NLK_BIN=$(abspath $(BUILD_DIR))/tools/nlk NLK_BENCH_BIN=$(abspath $(BUILD_DIR))/bench/nlk_bench \
	  bench/run --quick --out bench/data/last-run.json
	bench/compare bench/data/last-run.json --history bench/history --plot bench/data/plots

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

format-check: bootstrap
	clang-format --dry-run --Werror $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) bin
