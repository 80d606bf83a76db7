#include "archive/file_tree.h"

#include <vector>

namespace sealpkg::archive {

FileTree::FileTree(std::string root_name) {
  root_.name = std::move(root_name);
  root_.is_dir = true;
}

void FileTree::AddFile(std::string_view path) {
  Node* dir = &root_;
  size_t start = 0;
  for (size_t slash = path.find('/'); slash != std::string_view::npos;
       slash = path.find('/', start)) {
    const std::string part(path.substr(start, slash - start));
    auto& child = dir->children[part];
    if (!child) {
      child = std::make_unique<Node>();
      child->name = part;
      child->is_dir = true;
    }
    dir = child.get();
    start = slash + 1;
  }
  auto leaf = std::make_unique<Node>();
  leaf->name = std::string(path.substr(start));
  leaf->is_dir = false;
  dir->children[leaf->name] = std::move(leaf);
}

bool FileTree::HasFile(std::string_view path) const {
  const Node* node = &root_;
  size_t start = 0;
  while (true) {
    const size_t slash = path.find('/', start);
    const std::string part(path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    const auto it = node->children.find(part);
    if (it == node->children.end()) return false;
    if (slash == std::string_view::npos) return true;
    node = it->second.get();
    start = slash + 1;
  }
}

std::string FileTree::Render() const {
  return RenderTree(root_);
}

std::string RenderTree(const FileTree::Node& root) {
  static constexpr std::string_view kSpace = "    ";
  static constexpr std::string_view kBranch = "│   ";
  static constexpr std::string_view kTee = "├── ";
  static constexpr std::string_view kLast = "└── ";
  static constexpr std::string_view kRoot = "─── ";

  struct Frame {
    const FileTree::Node* node;
    std::string preamble;
    std::string_view pointer;
  };
  std::string out;
  std::vector<Frame> stack;
  stack.push_back({&root, "", kRoot});
  while (!stack.empty()) {
    Frame f = std::move(stack.back());
    stack.pop_back();
    out += f.preamble;
    out += f.pointer;
    out += f.node->name;
    out += '\n';
    if (!f.node->is_dir && f.pointer != kRoot) continue;  // torch lists a file's name only
    const std::string inner = f.preamble + std::string(f.pointer == kTee ? kBranch : kSpace);

    std::vector<const FileTree::Node*> dirs, files;
    for (const auto& [key, child] : f.node->children)
      (child->is_dir ? dirs : files).push_back(child.get());
    // Folders (with their subtrees) come before files; push in reverse so they pop in order.
    std::vector<Frame> pending;
    for (size_t i = 0; i < dirs.size(); ++i) {
      const bool last = i + 1 == dirs.size() && files.empty();
      pending.push_back({dirs[i], inner, last ? kLast : kTee});
    }
    for (size_t i = 0; i < files.size(); ++i) {
      pending.push_back({files[i], inner, i + 1 == files.size() ? kLast : kTee});
    }
    for (size_t i = pending.size(); i-- > 0;) stack.push_back(std::move(pending[i]));
  }
  return out;
}

}  // namespace sealpkg::archive
