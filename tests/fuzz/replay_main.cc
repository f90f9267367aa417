// Replays fuzz inputs without libFuzzer: `make test` links each tests/fuzz/NAME_fuzzer.cc
// with this main (g++, ASan + UBSan) and calls LLVMFuzzerTestOneInput once on every
// file of tests/fuzz/corpus/NAME/ (NAME from the binary's name, NAME_replay), or of
// the files and folders given. It ends with GoogleTest's summary line, so
// tests/run_all.sh counts each target as one test; a crash names the input.
#include <dlfcn.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// From the sanitizer runtime when there is one (weak: the replay also links without).
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

namespace fs = std::filesystem;

std::string current_input;  // the input being replayed, named if the process dies

void NameCurrentInput() {
  if (!current_input.empty())
    std::fprintf(stderr, "replay: the input that failed: %s\n", current_input.c_str());
}

// No input may take this long: past it the replay stops as a hang, naming the input.
constexpr unsigned kHangSeconds = 60;

// SIGABRT (a target's own check, or std::terminate), SIGILL (__builtin_trap), which the
// sanitizers leave alone, and SIGALRM (kHangSeconds passed): name the input, then die
// of the signal as before.
void OnFatalSignal(int sig) {
  static const char kHang[] = "replay: still running after a minute: a hang\n";
  static const char kPrefix[] = "replay: the input that failed: ";
  if (sig == SIGALRM) (void)!write(STDERR_FILENO, kHang, sizeof kHang - 1);
  if (!current_input.empty()) {
    (void)!write(STDERR_FILENO, kPrefix, sizeof kPrefix - 1);
    (void)!write(STDERR_FILENO, current_input.data(), current_input.size());
    (void)!write(STDERR_FILENO, "\n", 1);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void OnTerminate() {
  std::string what = "unknown exception";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
  }
  std::fprintf(stderr, "replay: uncaught exception: %s\n", what.c_str());
  std::abort();  // OnFatalSignal names the input
}

// "FAILED" in GoogleTest's words, so that run_all.sh counts it.
int Fail(const std::string& test, const std::string& why) {
  std::printf("replay: %s\n[  FAILED  ] %s\n[==========] 1 test ran.\n", why.c_str(),
              test.c_str());
  std::printf("[  FAILED  ] 1 test, listed below:\n[  FAILED  ] %s\n", test.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::set_terminate(OnTerminate);
  signal(SIGABRT, OnFatalSignal);
  signal(SIGILL, OnFatalSignal);
  signal(SIGALRM, OnFatalSignal);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(NameCurrentInput);
  // g++ links UBSan as its own library, with its own death callback (clang's one runtime
  // answers both above).
  if (void* ubsan = dlopen("libubsan.so.1", RTLD_LAZY | RTLD_NOLOAD)) {
    using SetDeathCallback = void (*)(void (*)(void));
    if (auto set = reinterpret_cast<SetDeathCallback>(dlsym(ubsan, "__sanitizer_set_death_callback")))
      set(NameCurrentInput);
  }

  std::string name = fs::path(argv[0]).filename().string();
  if (name.size() > 7 && name.ends_with("_replay")) name.resize(name.size() - 7);
  const std::string test = "FuzzReplay." + name;

  std::vector<fs::path> roots;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.starts_with("--gtest")) continue;  // run_all.sh's flags
    roots.emplace_back(arg);
  }
  if (roots.empty()) {
    const char* src = std::getenv("CROSSDOCK_SRC");
    roots.push_back(fs::path(src ? src : ".") / "tests/fuzz/corpus" / name);
  }

  std::vector<fs::path> inputs;
  for (const fs::path& root : roots) {
    std::error_code ec;
    if (fs::is_regular_file(root, ec)) {
      inputs.push_back(root);
      continue;
    }
    if (!fs::is_directory(root, ec))
      return Fail(test, root.string() + " is neither a file nor a folder");
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
      if (it->is_regular_file()) inputs.push_back(it->path());
    if (ec) return Fail(test, "cannot list " + root.string() + ": " + ec.message());
  }
  std::sort(inputs.begin(), inputs.end());  // the same order on every run
  if (inputs.empty()) return Fail(test, "no inputs to replay (an empty corpus tests nothing)");

  std::printf("[==========] Running 1 test: fuzz target %s over %zu inputs.\n[ RUN      ] %s\n",
              name.c_str(), inputs.size(), test.c_str());
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  for (const fs::path& input : inputs) {
    std::ifstream in(input, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) return Fail(test, "cannot read " + input.string());
    current_input = input.string();
    alarm(kHangSeconds);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
  }
  alarm(0);
  current_input.clear();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf("[       OK ] %s (%lld ms)\n[==========] 1 test ran.\n[  PASSED  ] 1 test.\n",
              test.c_str(), static_cast<long long>(ms));
  return 0;
}
