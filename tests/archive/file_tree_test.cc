// Expected strings were produced by torch 1.13's Directory (torch/package/
// file_structure_representation.py): a Directory(root, True) with _add_file() per path, then
// str(). They are pasted verbatim so the test needs no Python.
#include "archive/file_tree.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace sealpkg::archive {
namespace {

std::string Render(const std::string& root, const std::vector<std::string>& files) {
  FileTree tree(root);
  for (const auto& f : files) tree.AddFile(f);
  return tree.Render();
}

TEST(FileTreeTest, MatchesTorchForTheBriefExample) {
  EXPECT_EQ(Render("root", {"b/x", "a", ".data/version", "b/a/y"}),
            "─── root\n"
            "    ├── .data\n"
            "    │   └── version\n"
            "    ├── b\n"
            "    │   ├── a\n"
            "    │   │   └── y\n"
            "    │   └── x\n"
            "    └── a\n");
}

TEST(FileTreeTest, EmptyTreeIsTheRootLineOnly) {
  EXPECT_EQ(Render("root", {}), "─── root\n");
}

TEST(FileTreeTest, FilesAreSorted) {
  EXPECT_EQ(Render("m.pt", {"z", "y", "x"}),
            "─── m.pt\n"
            "    ├── x\n"
            "    ├── y\n"
            "    └── z\n");
  EXPECT_EQ(Render("r", {"only"}), "─── r\n    └── only\n");
}

TEST(FileTreeTest, LastFolderWithoutFilesUsesSpaces) {
  EXPECT_EQ(Render("r", {"a/b/c/d"}),
            "─── r\n"
            "    └── a\n"
            "        └── b\n"
            "            └── c\n"
            "                └── d\n");
}

TEST(FileTreeTest, FoldersBeforeFiles) {
  EXPECT_EQ(Render("r", {"B", "a", "_x", "Z/q", "a1/q", "é", "e"}),
            "─── r\n"
            "    ├── Z\n"
            "    │   └── q\n"
            "    ├── a1\n"
            "    │   └── q\n"
            "    ├── B\n"
            "    ├── _x\n"
            "    ├── a\n"
            "    ├── e\n"
            "    └── é\n");
  EXPECT_EQ(Render("r", {"a/x", "a/y/z", "b"}),
            "─── r\n"
            "    ├── a\n"
            "    │   ├── y\n"
            "    │   │   └── z\n"
            "    │   └── x\n"
            "    └── b\n");
  EXPECT_EQ(Render("r", {"x/a", "x/b", "y/a", "y/b/c", "z"}),
            "─── r\n"
            "    ├── x\n"
            "    │   ├── a\n"
            "    │   └── b\n"
            "    ├── y\n"
            "    │   ├── b\n"
            "    │   │   └── c\n"
            "    │   └── a\n"
            "    └── z\n");
}

TEST(FileTreeTest, TypicalPackage) {
  EXPECT_EQ(Render("my_pkg", {".data/extern_modules", ".data/version", ".data/0.storage",
                              ".data/1.storage", "pkg/__init__.py", "pkg/sub/mod.py",
                              "pkg/sub/__init__.py", "res/a.txt", "main.py"}),
            "─── my_pkg\n"
            "    ├── .data\n"
            "    │   ├── 0.storage\n"
            "    │   ├── 1.storage\n"
            "    │   ├── extern_modules\n"
            "    │   └── version\n"
            "    ├── pkg\n"
            "    │   ├── sub\n"
            "    │   │   ├── __init__.py\n"
            "    │   │   └── mod.py\n"
            "    │   └── __init__.py\n"
            "    ├── res\n"
            "    │   └── a.txt\n"
            "    └── main.py\n");
}

TEST(FileTreeTest, SortsByBytesLikePythonSortsCodePoints) {
  EXPECT_EQ(Render("r", {"~", "\xc3\xa9", "z", "Z", "\xef\xbf\xbf", "\xf0\x9f\x98\x80",
                         "d\xc3\xa9/x", "d~/y", "D/z"}),
            "─── r\n"
            "    ├── D\n"
            "    │   └── z\n"
            "    ├── d~\n"
            "    │   └── y\n"
            "    ├── d\xc3\xa9\n"
            "    │   └── x\n"
            "    ├── Z\n"
            "    ├── z\n"
            "    ├── ~\n"
            "    ├── \xc3\xa9\n"
            "    ├── \xef\xbf\xbf\n"
            "    └── \xf0\x9f\x98\x80\n");
}

TEST(FileTreeTest, EmptyPathComponentsBecomeEmptyNames) {
  // torch splits on '/' without filtering, so empty names appear as folders or files.
  EXPECT_EQ(Render("r", {"a//b", "/c", "e/"}),
            "─── r\n"
            "    ├── \n"
            "    │   └── c\n"
            "    ├── a\n"
            "    │   └── \n"
            "    │       └── b\n"
            "    └── e\n"
            "        └── \n");
}

TEST(FileTreeTest, FileReplacesFolderOfTheSameName) {
  // torch: dir.children[file] = Directory(file, False) drops the folder and its contents.
  EXPECT_EQ(Render("r", {"d/x", "d"}), "─── r\n    └── d\n");
  FileTree tree("r");
  tree.AddFile("d/x");
  tree.AddFile("d");
  EXPECT_TRUE(tree.HasFile("d"));
  EXPECT_FALSE(tree.HasFile("d/x"));
  ASSERT_EQ(tree.root().children.size(), 1u);
  EXPECT_FALSE(tree.root().children.at("d")->is_dir);
}

TEST(FileTreeTest, FolderPathUnderAFileKeepsTheFile) {
  // torch: _get_dir reuses the existing (file) node, so "d" stays a file and lists no children.
  EXPECT_EQ(Render("r", {"d", "d/x", "e"}), "─── r\n    ├── d\n    └── e\n");
  FileTree tree("r");
  tree.AddFile("d");
  tree.AddFile("d/x");
  EXPECT_TRUE(tree.HasFile("d/x"));  // as torch's has_file
  EXPECT_FALSE(tree.root().children.at("d")->is_dir);
}

TEST(FileTreeTest, AddingTheSameFileTwiceKeepsOne) {
  EXPECT_EQ(Render("r", {"a/b", "a/b"}), "─── r\n    └── a\n        └── b\n");
}

TEST(FileTreeTest, HasFileSemantics) {
  FileTree tree("r");
  tree.AddFile("pkg/sub/mod.py");
  tree.AddFile("pkg/__init__.py");
  EXPECT_TRUE(tree.HasFile("pkg"));  // folders count
  EXPECT_TRUE(tree.HasFile("pkg/sub"));
  EXPECT_TRUE(tree.HasFile("pkg/sub/mod.py"));
  EXPECT_TRUE(tree.HasFile("pkg/__init__.py"));
  EXPECT_FALSE(tree.HasFile("pkg/sub/mod"));  // partial names do not
  EXPECT_FALSE(tree.HasFile("pkg/su"));
  EXPECT_FALSE(tree.HasFile("pk"));
  EXPECT_FALSE(tree.HasFile("x"));
  EXPECT_FALSE(tree.HasFile("pkg/__init__.py/x"));
  EXPECT_FALSE(tree.HasFile(""));
  EXPECT_FALSE(tree.HasFile("/pkg"));
  EXPECT_FALSE(tree.HasFile("pkg/"));
  EXPECT_FALSE(tree.HasFile("r"));  // the root's own name is not a child
}

TEST(FileTreeTest, HasFileWithEmptyComponents) {
  FileTree tree("r");
  tree.AddFile("a//b");
  EXPECT_TRUE(tree.HasFile("a//b"));
  EXPECT_TRUE(tree.HasFile("a/"));
  EXPECT_TRUE(tree.HasFile("a"));
  FileTree empty_name("r");
  empty_name.AddFile("");
  EXPECT_TRUE(empty_name.HasFile(""));
  EXPECT_EQ(empty_name.Render(), "─── r\n    └── \n");
}

TEST(FileTreeTest, DeepNestingDoesNotOverflowTheStack) {
  constexpr int kDepth = 2000;
  std::string path;
  for (int i = 0; i < kDepth; ++i) path += "d/";
  path += "f";
  FileTree tree("root");
  tree.AddFile(path);
  EXPECT_TRUE(tree.HasFile(path));

  std::string expected = "─── root\n";
  for (int i = 1; i <= kDepth + 1; ++i) {
    expected += std::string(4 * static_cast<size_t>(i), ' ');
    expected += "└── ";
    expected += i <= kDepth ? "d" : "f";
    expected += '\n';
  }
  EXPECT_EQ(tree.Render(), expected);
  // Destroying a 2000-deep tree must not overflow either (end of scope).
}

TEST(FileTreeTest, WideTree) {
  FileTree tree("r");
  std::string expected = "─── r\n    ├── d\n    │   └── x\n";
  std::vector<std::string> names;
  for (int i = 0; i < 5000; ++i) names.push_back("f" + std::to_string(10000 + i));
  for (const auto& n : names) tree.AddFile(n);
  tree.AddFile("d/x");
  for (size_t i = 0; i < names.size(); ++i) {
    expected += "    ";
    expected += i + 1 == names.size() ? "└── " : "├── ";
    expected += names[i];
    expected += '\n';
  }
  EXPECT_EQ(tree.Render(), expected);
}

TEST(FileTreeTest, RenderTreeOnHandBuiltNodes) {
  FileTree::Node root;
  root.name = "top";
  root.is_dir = true;
  auto dir = std::make_unique<FileTree::Node>();
  dir->name = "sub";
  dir->is_dir = true;
  auto file = std::make_unique<FileTree::Node>();
  file->name = "leaf";
  dir->children["leaf"] = std::move(file);
  root.children["sub"] = std::move(dir);
  EXPECT_EQ(RenderTree(root), "─── top\n    └── sub\n        └── leaf\n");
}

}  // namespace
}  // namespace sealpkg::archive
