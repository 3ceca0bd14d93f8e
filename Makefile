# Entry points. Each target installs what it needs (idempotently) before it runs.
BUILD_DIR ?= build
ASAN_BUILD_DIR ?= build-asan
JOBS ?= 2

.PHONY: demo test build bootstrap unit-tests asan-tests integration-tests format format-check clean

demo: build
	scripts/demo.sh

test: format-check build unit-tests asan-tests integration-tests

bootstrap:
	scripts/bootstrap.sh

build: bootstrap
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD_DIR) -j$(JOBS)

# Each suite runs with a temporary directory of its own that must be empty when it ends.
unit-tests: build
	scripts/in-clean-tmp.sh ctest --test-dir $(BUILD_DIR) -L unit --output-on-failure -j$(JOBS)

# The unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer.
asan-tests: bootstrap
	cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DNLK_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD_DIR) -j$(JOBS)
	ASAN_OPTIONS=detect_leaks=0 scripts/in-clean-tmp.sh \
	  ctest --test-dir $(ASAN_BUILD_DIR) -L unit --output-on-failure -j$(JOBS)

# Tests against real services (MinIO) and real third-party tools (delta-rs, Spark, Polars,
# DuckDB), all started and stopped by the project's own scripts.
integration-tests: build
	scripts/in-clean-tmp.sh scripts/run-integration-tests.sh $(BUILD_DIR)

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

format-check: bootstrap
	clang-format --dry-run --Werror $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
