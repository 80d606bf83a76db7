#include "core/glob.h"

namespace sealpkg {
namespace {

// Python's str.split(sep): every occurrence splits, empty pieces are kept.
std::vector<std::string_view> Split(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + sep.size();
  }
}

}  // namespace

Result<GlobPattern> GlobPattern::Compile(std::string_view pattern, std::string_view separator) {
  if (separator.empty()) return Malformed("glob.bad-separator", "empty separator");
  GlobPattern out;
  out.separator_ = std::string(separator);
  for (std::string_view component : Split(pattern, separator)) {
    if (component == "**") {
      out.tokens_.push_back({Kind::kDoubleStar, 0});
      continue;
    }
    if (component.find("**") != std::string_view::npos) {
      return Malformed("glob.bad-pattern", "** can only appear as an entire path segment");
    }
    for (char c : separator) out.tokens_.push_back({Kind::kLiteral, c});
    for (char c : component) {
      out.tokens_.push_back(c == '*' ? Token{Kind::kStar, 0} : Token{Kind::kLiteral, c});
    }
  }
  return out;
}

bool GlobPattern::Matches(std::string_view candidate_without_separator) const {
  const std::string text = separator_ + std::string(candidate_without_separator);
  const size_t m = text.size();
  const auto is_sep = [&](char c) { return separator_.find(c) != std::string::npos; };
  // next[j]: tokens after the current one match text[j..]; cur[j]: tokens from the current one.
  std::vector<uint8_t> next(m + 1, 0), cur(m + 1, 0);
  next[m] = 1;
  for (size_t i = tokens_.size(); i-- > 0;) {
    const Token& t = tokens_[i];
    for (size_t j = m + 1; j-- > 0;) {
      bool ok = false;
      switch (t.kind) {
        case Kind::kLiteral:
          ok = j < m && text[j] == t.literal && next[j + 1];
          break;
        case Kind::kStar:
          ok = next[j] || (j < m && !is_sep(text[j]) && cur[j + 1]);
          break;
        case Kind::kDoubleStar: {
          // (SEP [^SEP]+)* : skip the group, or take one more "SEP + non-empty run".
          ok = next[j];
          if (!ok && text.compare(j, separator_.size(), separator_) == 0) {
            for (size_t k = j + separator_.size(); k < m && !is_sep(text[k]) && !ok; ++k) {
              ok = cur[k + 1] != 0;
            }
          }
          break;
        }
      }
      cur[j] = ok;
    }
    next.swap(cur);
  }
  return next[0] != 0;
}

Result<GlobGroup> GlobGroup::Create(const std::vector<std::string>& include,
                                    const std::vector<std::string>& exclude,
                                    std::string_view separator) {
  GlobGroup out;
  for (const auto& p : include) {
    SEALPKG_ASSIGN_OR_RETURN(GlobPattern g, GlobPattern::Compile(p, separator));
    out.include_.push_back(std::move(g));
  }
  for (const auto& p : exclude) {
    SEALPKG_ASSIGN_OR_RETURN(GlobPattern g, GlobPattern::Compile(p, separator));
    out.exclude_.push_back(std::move(g));
  }
  return out;
}

bool GlobGroup::Matches(std::string_view candidate) const {
  bool included = false;
  for (const auto& g : include_) {
    if (g.Matches(candidate)) {
      included = true;
      break;
    }
  }
  if (!included) return false;
  for (const auto& g : exclude_) {
    if (g.Matches(candidate)) return false;
  }
  return true;
}

}  // namespace sealpkg
