# The README's two commands:  `make run`  and  `make test`.
# Everything else is a convenience over CMake/CTest.
BUILD      ?= build
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build run test asan tsan fuzz bench clean

all: build

deps:
	@./scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DKITH_WERROR=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@$(BUILD)/kith chat

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The suite under AddressSanitizer + UndefinedBehaviorSanitizer, and under
# ThreadSanitizer, each in its own build directory.
asan:
	@$(MAKE) --no-print-directory test BUILD=build-asan CMAKE_ARGS="-DKITH_SANITIZE=address -DCMAKE_BUILD_TYPE=Debug"

tsan:
	@$(MAKE) --no-print-directory test BUILD=build-tsan CMAKE_ARGS="-DKITH_SANITIZE=thread -DCMAKE_BUILD_TYPE=Debug"

# libFuzzer targets (clang); run one with e.g. build-fuzz/fuzz_sse fuzz/corpus/sse
fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DKITH_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

bench: build
	@for b in $(BUILD)/bench_*; do [ -x "$$b" ] && "$$b"; done

clean:
	rm -rf build build-asan build-tsan build-fuzz
