// torch.package GlobGroup semantics, implemented once for every component.
//
// A pattern is split on the separator ("." for module names, "/" for archive paths). A segment
// "**" matches zero or more non-empty segments; "*" inside a segment matches any run of
// non-separator characters (including none); everything else is literal. A candidate matches a
// group if it fully matches some include pattern and no exclude pattern. These are exactly the
// semantics of torch 1.13's regex translation (shared/reference/torch_package.md §3.6), e.g.
// "torch.**" matches "torch", "torch.*" does not, and "**" does not match "". Matching is a
// dynamic program over (token, position): linear-ish time, no backtracking, no recursion.
//
//   SEALPKG_ASSIGN_OR_RETURN(auto g, sealpkg::GlobGroup::Create({"torch.**"}, {"torch.x"}));
//   bool yes = g.Matches("torch.nn");
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sealpkg {

class GlobPattern {
 public:
  static Result<GlobPattern> Compile(std::string_view pattern, std::string_view separator);
  // True if separator + candidate is fully matched.
  bool Matches(std::string_view candidate) const;

 private:
  enum class Kind : uint8_t { kLiteral, kStar, kDoubleStar };
  struct Token {
    Kind kind;
    char literal;
  };
  std::vector<Token> tokens_;
  std::string separator_;
};

class GlobGroup {
 public:
  // Fails with kMalformed "glob.bad-pattern" for a segment that contains "**" but is not
  // exactly "**", and "glob.bad-separator" for an empty separator.
  static Result<GlobGroup> Create(const std::vector<std::string>& include,
                                  const std::vector<std::string>& exclude = {},
                                  std::string_view separator = ".");
  bool Matches(std::string_view candidate) const;

 private:
  std::vector<GlobPattern> include_;
  std::vector<GlobPattern> exclude_;
};

}  // namespace sealpkg
