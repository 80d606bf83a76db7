// glob: arbitrary bytes -> sealpkg::GlobGroup::Create + Matches, checked against torch's
// semantics (torch/package/glob_group.py, see core/glob.h).
//
// Input: byte 0 picks the separator (low bit: 0 '.', 1 '/'); the rest is split on '\n'. The first
// field is the candidate, every further field a pattern; a field starting with '!' is an
// exclude pattern (without the '!'). At most kMaxPatterns patterns are used.
//
// Invariants (each violation calls abort()):
//   - Create never returns kInternal; it fails (kMalformed "glob.bad-pattern") exactly when a
//     segment contains "**" without being exactly "**";
//   - every valid pattern matches exactly as an independent segment-level model of torch's
//     regex: a "**" segment takes zero or more non-empty candidate segments, any other segment
//     takes exactly one candidate segment, in which '*' matches any run of characters;
//   - a pattern without '*' matches exactly the candidate equal to itself (and matches itself);
//   - "**" matches exactly the non-empty candidates without empty segments; "*" matches exactly
//     the candidates without a separator;
//   - a group matches iff some include matches and no exclude matches; excluding a pattern
//     from itself matches nothing; an empty include list matches nothing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "core/glob.h"
#include "core/printable.h"
#include "core/status.h"

namespace {

constexpr size_t kMaxPatterns = 16;

[[noreturn]] void Fail(const char* what, std::string_view pattern, std::string_view candidate) {
  std::fprintf(stderr,
               "glob_fuzzer: invariant violated: %s\n  pattern:   '%s'\n  candidate: '%s'\n", what,
               sealpkg::Printable(pattern).c_str(), sealpkg::Printable(candidate).c_str());
  std::abort();
}

// Python's str.split(sep): every occurrence splits, empty pieces are kept.
std::vector<std::string_view> Split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t at = text.find(sep); at != std::string_view::npos; at = text.find(sep, start)) {
    out.push_back(text.substr(start, at - start));
    start = at + 1;
  }
  out.push_back(text.substr(start));
  return out;
}

bool ValidPattern(std::string_view pattern, char sep) {
  for (std::string_view segment : Split(pattern, sep)) {
    if (segment != "**" && segment.find("**") != std::string_view::npos) return false;
  }
  return true;
}

// '*' matches any run of characters (segments hold no separator). Greedy with one backtrack
// point, which is exact for '*'-only wildcards.
bool SegmentMatches(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// The model: pattern segments against candidate segments.
bool ModelMatches(std::string_view pattern, std::string_view candidate, char sep) {
  const auto pats = Split(pattern, sep);
  const auto segs = Split(candidate, sep);
  const size_t n = segs.size();
  // next[s]: pattern segments after the current one match segs[s..]; cur[s]: from the current.
  std::vector<uint8_t> next(n + 1, 0), cur(n + 1, 0);
  next[n] = 1;
  for (size_t p = pats.size(); p-- > 0;) {
    for (size_t s = n + 1; s-- > 0;) {
      if (pats[p] == "**") {
        cur[s] = next[s] || (s < n && !segs[s].empty() && cur[s + 1]);
      } else {
        cur[s] = s < n && next[s + 1] && SegmentMatches(pats[p], segs[s]);
      }
    }
    next.swap(cur);
  }
  return next[0] != 0;
}

sealpkg::GlobGroup MustCreate(const std::vector<std::string>& include,
                              const std::vector<std::string>& exclude, std::string_view sep,
                              std::string_view what) {
  auto group = sealpkg::GlobGroup::Create(include, exclude, sep);
  if (!group.ok()) {
    Fail("Create refuses valid patterns", what, group.status().ToString());
  }
  return std::move(group).value();
}

bool Matches(std::string_view pattern, std::string_view candidate, std::string_view sep) {
  return MustCreate({std::string(pattern)}, {}, sep, pattern).Matches(candidate);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const char sep_char = (data[0] & 1) ? '/' : '.';
  const std::string sep(1, sep_char);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto fields = Split(rest, '\n');
  const std::string_view candidate = fields[0];

  std::vector<std::string> include, exclude;
  bool all_valid = true;
  for (size_t i = 1; i < fields.size() && i <= kMaxPatterns; ++i) {
    std::string_view f = fields[i];
    const bool is_exclude = !f.empty() && f.front() == '!';
    if (is_exclude) f.remove_prefix(1);
    all_valid = all_valid && ValidPattern(f, sep_char);
    (is_exclude ? exclude : include).emplace_back(f);
  }

  // Create fails exactly for invalid patterns, and only with kMalformed.
  auto group = sealpkg::GlobGroup::Create(include, exclude, sep);
  if (!group.ok()) {
    const sealpkg::Status& st = group.status();
    if (st.code() == sealpkg::ErrorCode::kInternal) Fail("kInternal", "", st.ToString());
    if (all_valid) Fail("Create refuses valid patterns", "", st.ToString());
    if (st.code() != sealpkg::ErrorCode::kMalformed || st.reason() != "glob.bad-pattern") {
      Fail("bad pattern reported with another code or reason", "", st.ToString());
    }
  } else if (!all_valid) {
    Fail("Create accepts an invalid pattern", "", candidate);
  }

  // Every valid pattern on its own, against the model and the literal rule.
  bool any_include = false, any_exclude = false;
  for (const auto* list : {&include, &exclude}) {
    for (const std::string& p : *list) {
      if (!ValidPattern(p, sep_char)) continue;
      const bool got = Matches(p, candidate, sep);
      if (got != ModelMatches(p, candidate, sep_char)) Fail("differs from the model", p, candidate);
      if (p.find('*') == std::string::npos) {
        if (got != (candidate == p)) Fail("literal pattern: match != equality", p, candidate);
        if (!Matches(p, p, sep)) Fail("literal pattern does not match itself", p, p);
      }
      if (MustCreate({p}, {p}, sep, p).Matches(candidate)) {
        Fail("pattern excluded from itself still matches", p, candidate);
      }
      if (got) (list == &include ? any_include : any_exclude) = true;
    }
  }
  if (group.ok() && group->Matches(candidate) != (any_include && !any_exclude)) {
    Fail("group differs from any(include) && !any(exclude)", "", candidate);
  }

  // Fixed patterns with a closed-form answer.
  const auto segs = Split(candidate, sep_char);
  bool no_empty_segment = true;
  for (std::string_view s : segs) no_empty_segment = no_empty_segment && !s.empty();
  if (Matches("**", candidate, sep) != no_empty_segment) Fail("'**' rule", "**", candidate);
  if (Matches("*", candidate, sep) != (segs.size() == 1)) Fail("'*' rule", "*", candidate);
  if (MustCreate({}, {}, sep, "").Matches(candidate)) Fail("empty include matches", "", candidate);
  return 0;
}
