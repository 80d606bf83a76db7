// Standalone driver for fuzz targets: replays files through LLVMFuzzerTestOneInput without
// libFuzzer, so every compiler (and every ctest run) exercises the committed corpus and the
// regression inputs.
//
//   zip_reader_replay fuzz/corpus/zip_reader fuzz/regressions/zip_reader crash-1234
//
// Arguments are files or directories. Directories are walked recursively in sorted order;
// entries whose name starts with '.' (such as .gitkeep) are skipped. Each input is copied into
// a heap block of exactly its size, so an over-read is visible to AddressSanitizer.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc, char*** argv);

namespace {

namespace fs = std::filesystem;

bool Hidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name.front() == '.';
}

// Appends the regular files under `dir` (recursively, sorted, skipping dot entries).
bool Collect(const fs::path& dir, std::vector<fs::path>& out) {
  std::error_code ec;
  std::vector<fs::path> children;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!Hidden(it->path())) children.push_back(it->path());
  }
  if (ec) {
    std::fprintf(stderr, "replay: cannot list '%s': %s\n", dir.c_str(), ec.message().c_str());
    return false;
  }
  std::sort(children.begin(), children.end());
  for (const fs::path& child : children) {
    if (fs::is_directory(child, ec)) {
      if (!Collect(child, out)) return false;
    } else if (fs::is_regular_file(child, ec)) {
      out.push_back(child);
    }
  }
  return true;
}

bool ReadFile(const fs::path& path, std::vector<uint8_t>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIR...\n", argv[0]);
    return 2;
  }
  std::vector<fs::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const fs::path arg(argv[i]);
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      if (!Collect(arg, inputs)) return 2;
    } else if (fs::is_regular_file(arg, ec)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: '%s' is neither a file nor a directory\n", argv[i]);
      return 2;
    }
  }
  size_t ran = 0;
  std::vector<uint8_t> bytes;
  for (const fs::path& path : inputs) {
    if (!ReadFile(path, bytes)) {
      std::fprintf(stderr, "replay: cannot read '%s'\n", path.c_str());
      return 2;
    }
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), bytes.size());
    // Exactly-sized copy: a read one past the end is a heap-buffer-overflow under ASan.
    auto copy = std::make_unique<uint8_t[]>(bytes.size());
    std::copy(bytes.begin(), bytes.end(), copy.get());
    LLVMFuzzerTestOneInput(copy.get(), bytes.size());
    ++ran;
  }
  std::printf("replay: ran %zu inputs\n", ran);
  return 0;
}
