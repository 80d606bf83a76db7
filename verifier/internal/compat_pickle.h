// CPython's protocol < 3 name renames (_compat_pickle), as the unpickler applies them.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sealpkg::verifier::internal {

struct CompatName {
  std::string_view module2, name2, module3, name3;
};
struct CompatModule {
  std::string_view module2, module3;
};

// Sorted by (module2, name2) / module2.
const std::vector<CompatName>& CompatNameMapping();
const std::vector<CompatModule>& CompatImportMapping();

// find_class's rename: NAME_MAPPING first, else IMPORT_MAPPING on the module. Returns true if
// anything changed.
bool ApplyCompatRename(std::string& module, std::string& name);

}  // namespace sealpkg::verifier::internal
