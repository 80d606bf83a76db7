// The file tree torch.package prints for `file_structure()`, built from record names.
//
// FileTree reproduces torch's Directory semantics (record paths split on '/', folders created
// on demand) and Render() prints it byte-for-byte as torch's Directory.__str__ does: a root line
// "─── <name>", then inside each folder its sub-folders (sorted) before its files (sorted),
// drawn with "├── ", "└── " and "│   ". Rendering is iterative (no recursion).
//
//   sealpkg::archive::FileTree tree("model.pt");
//   for (const auto& e : index.entries()) if (filter.Matches(e.record())) tree.AddFile(e.record());
//   std::cout << tree.Render();
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace sealpkg::archive {

class FileTree {
 public:
  struct Node {
    std::string name;
    bool is_dir = false;
    std::map<std::string, std::unique_ptr<Node>> children;  // sorted by name (bytes)
  };

  explicit FileTree(std::string root_name);

  // Adds a file at a '/'-separated path, creating folders as needed (torch's _add_file).
  void AddFile(std::string_view path);
  // torch's has_file: true if every '/'-separated component exists as a child (folders too).
  bool HasFile(std::string_view path) const;
  std::string Render() const;

  Node& root() { return root_; }
  const Node& root() const { return root_; }

 private:
  Node root_;
};

// Renders any tree of Nodes as torch does (shared by FileTree and the Python Directory).
std::string RenderTree(const FileTree::Node& root);

}  // namespace sealpkg::archive
