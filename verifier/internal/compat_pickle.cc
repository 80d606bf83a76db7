#include "verifier/internal/compat_pickle.h"

#include <algorithm>

namespace sealpkg::verifier::internal {

bool ApplyCompatRename(std::string& module, std::string& name) {
  const auto& names = CompatNameMapping();
  const auto it = std::lower_bound(names.begin(), names.end(), std::pair(module, name),
                                   [](const CompatName& e, const auto& key) {
                                     return std::pair(e.module2, e.name2) <
                                            std::pair(std::string_view(key.first),
                                                      std::string_view(key.second));
                                   });
  if (it != names.end() && it->module2 == module && it->name2 == name) {
    module = std::string(it->module3);
    name = std::string(it->name3);
    return true;
  }
  const auto& modules = CompatImportMapping();
  const auto jt = std::lower_bound(
      modules.begin(), modules.end(), module,
      [](const CompatModule& e, const std::string& key) { return e.module2 < key; });
  if (jt != modules.end() && jt->module2 == module) {
    module = std::string(jt->module3);
    return true;
  }
  return false;
}

}  // namespace sealpkg::verifier::internal
