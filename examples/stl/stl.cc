// stl: a C++ module using the standard library (libc++ for wasm32, no
// exceptions): containers, algorithms, strings, formatting.
//
//   ringfence call stl.rfm word_count   (after copying text into `buffer`)
#include <algorithm>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include <ringfence/module.h>

namespace {

constexpr int32_t kBufferSize = 64 * 1024;
char g_buffer[kBufferSize];
std::vector<int64_t> g_numbers;  // survives between calls, not across restarts

std::string_view BufferText(int32_t length) {
  if (length < 0 || length > kBufferSize) return {};
  return std::string_view(g_buffer, static_cast<size_t>(length));
}

}  // namespace

RF_EXPORT(buffer) int32_t buffer() { return static_cast<int32_t>(reinterpret_cast<uintptr_t>(g_buffer)); }
RF_EXPORT(buffer_size) int32_t buffer_size() { return kBufferSize; }

// Number of distinct words in the buffer's first `length` bytes.
RF_EXPORT(distinct_words) int32_t distinct_words(int32_t length) {
  std::map<std::string, int> counts;
  std::string word;
  for (char c : BufferText(length)) {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (!word.empty()) ++counts[word];
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) ++counts[word];
  return static_cast<int32_t>(counts.size());
}

// Sorts the buffer's words, writes them back space-separated; returns the
// new length.
RF_EXPORT(sort_words) int32_t sort_words(int32_t length) {
  std::vector<std::string> words;
  std::string word;
  for (char c : BufferText(length)) {
    if (c == ' ') {
      if (!word.empty()) words.push_back(word);
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(word);
  std::sort(words.begin(), words.end());
  std::string joined;
  for (const std::string& w : words) joined += (joined.empty() ? "" : " ") + w;
  std::copy(joined.begin(), joined.end(), g_buffer);
  return static_cast<int32_t>(joined.size());
}

RF_EXPORT(push) int32_t push(int64_t value) {
  g_numbers.push_back(value);
  return static_cast<int32_t>(g_numbers.size());
}

RF_EXPORT(sum) int64_t sum() { return std::accumulate(g_numbers.begin(), g_numbers.end(), int64_t{0}); }

RF_EXPORT(median) double median() {
  if (g_numbers.empty()) return 0;
  std::vector<int64_t> sorted = g_numbers;
  std::sort(sorted.begin(), sorted.end());
  size_t middle = sorted.size() / 2;
  return sorted.size() % 2 ? static_cast<double>(sorted[middle])
                           : (static_cast<double>(sorted[middle - 1]) + sorted[middle]) / 2;
}

// std::to_string, formatted back into the buffer.
RF_EXPORT(describe) int32_t describe() {
  std::string text = "numbers=" + std::to_string(g_numbers.size()) + " sum=" + std::to_string(sum());
  std::copy(text.begin(), text.end(), g_buffer);
  std::printf("%s\n", text.c_str());
  return static_cast<int32_t>(text.size());
}
