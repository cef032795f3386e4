# owl — the two commands of the README, and the build around them.
#   make        build build/owl (Release)
#   make chat   set up, fetch the default model, build, chat with it
#   make test   set up, build, run every test, then the unit and
#               malformed-input tests again under ASan + UBSan
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
MODEL ?= $(HOME)/.cache/owl/SmolLM2-135M-Instruct.Q4_1.gguf
CMAKE_FLAGS ?=

.PHONY: all setup model chat test test-asan clean

all: setup
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

setup:
	@sh scripts/setup

model:
	@sh scripts/fetch-model >/dev/null

chat: all model
	./$(BUILD)/owl chat -m $(MODEL)

test: all model
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan

test-asan: setup
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DOWL_SANITIZE=ON -DCMAKE_C_COMPILER=clang $(CMAKE_FLAGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L 'unit|malformed'

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
