#!/usr/bin/python3
"""check_deps.py fails on forbidden edges: synthetic link graphs and source trees (never the
real tree), each with exactly one forbidden edge, plus a clean one that passes."""
from __future__ import annotations

import sys
import tempfile
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_deps  # noqa: E402

CLEAN_GRAPH = """\
target\tsealpkg_core\tcore
link\tsealpkg_core\tOpenSSL::Crypto
imported\tOpenSSL::Crypto\t
target\tsealpkg_archive\tarchive
link\tsealpkg_archive\tsealpkg_core
link\tsealpkg_archive\tZLIB::ZLIB
target\tsealpkg_verifier\tverifier
link\tsealpkg_verifier\tsealpkg_archive
link\tsealpkg_verifier\tsealpkg_core
target\tsealpkg_signing\tsigning
link\tsealpkg_signing\tsealpkg_archive
target\tsealpkg_sandbox\tsandbox
link\tsealpkg_sandbox\tsealpkg_core
link\tsealpkg_sandbox\tPkgConfig::LIBSECCOMP
link\tsealpkg_sandbox\tBoost::filesystem
target\tsealpkg_loader\tloader
link\tsealpkg_loader\tsealpkg_verifier
link\tsealpkg_loader\tsealpkg_sandbox
target\tsealpkg_worker\tsandbox
link\tsealpkg_worker\tsealpkg_sandbox
link\tsealpkg_worker\tpybind11::embed
imported\tpybind11::embed\t
link\tpybind11::embed\tPython::Python
target\tsealpkg_cli\tcli
link\tsealpkg_cli\tsealpkg_signing
link\tsealpkg_cli\tsealpkg_verifier
link\tsealpkg_cli\tsealpkg_sandbox
target\tsealpkg_native\tpython
link\tsealpkg_native\tsealpkg_loader
link\tsealpkg_native\tpybind11::module
"""


def graph(extra: str = "") -> check_deps.Graph:
    return check_deps.parse_graph((CLEAN_GRAPH + extra).splitlines())


class LinkGraphTest(unittest.TestCase):
    def test_clean_graph_passes(self) -> None:
        g = graph()
        self.assertEqual(g.problems, [])
        self.assertEqual(check_deps.check_links(g), [])

    def test_archive_linking_verifier_fails(self) -> None:
        problems = check_deps.check_links(graph("link\tsealpkg_archive\tsealpkg_verifier\n"))
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("sealpkg_archive (archive) -> sealpkg_verifier (verifier)", problems[0])

    def test_alias_names_resolve_like_targets(self) -> None:
        # tests/deps/CMakeLists.txt resolves aliases; a LINK_ONLY wrapper is still an edge.
        problems = check_deps.check_links(
            graph("link\tsealpkg_core\t$<LINK_ONLY:sealpkg_archive>\n"))
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("sealpkg_core (core) -> sealpkg_archive (archive)", problems[0])

    def test_cli_depending_on_loader_fails(self) -> None:
        problems = check_deps.check_links(graph("link\tsealpkg_cli\tsealpkg_loader\n"))
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("sealpkg_cli (cli) -> sealpkg_loader (loader)", problems[0])

    def test_verifier_reaching_python_through_an_imported_target_fails(self) -> None:
        problems = check_deps.check_links(graph("link\tsealpkg_verifier\tpybind11::embed\n"))
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("sealpkg_verifier (verifier) reaches pybind11::embed", problems[0])

    def test_core_linking_libseccomp_by_path_fails(self) -> None:
        # core is reachable from archive, so it is held to archive's rule.
        problems = check_deps.check_links(
            graph("link\tsealpkg_core\t/usr/lib/x86_64-linux-gnu/libseccomp.so\n"))
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("sealpkg_core -> /usr/lib/x86_64-linux-gnu/libseccomp.so", problems[0])

    def test_sandbox_may_link_libseccomp(self) -> None:
        self.assertEqual(check_deps.check_links(graph()), [])

    def test_unknown_target_fails(self) -> None:
        g = graph("target\tsealpkg_newthing\tverifier\n")
        self.assertEqual(len(g.problems), 1)
        self.assertIn("unknown target sealpkg_newthing", g.problems[0])

    def test_unknown_generator_expression_fails_closed(self) -> None:
        g = graph("link\tsealpkg_archive\t$<$<BOOL:X>:sealpkg_verifier>\n")
        self.assertEqual(len(g.problems), 1)
        self.assertIn("cannot interpret", g.problems[0])


class IncludeTest(unittest.TestCase):
    def setUp(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.root = Path(self._tmp.name)

    def tearDown(self) -> None:
        self._tmp.cleanup()

    def write(self, rel: str, text: str) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def check(self, g: check_deps.Graph) -> list:
        return check_deps.check_includes(self.root, g)

    def test_clean_tree_passes(self) -> None:
        self.write("verifier/policy.cc", '#include "verifier/policy.h"\n#include "archive/zip_reader.h"\n'
                   '#include "core/status.h"\n#include <string>\n')
        self.write("loader/load.cc", '#include "sandbox/launcher.h"\n#include "signing/sign.h"\n')
        self.write("python/module.cc", '#include <pybind11/pybind11.h>\n#include "loader/x.h"\n')
        self.assertEqual(self.check(graph()), [])

    def test_archive_including_verifier_fails(self) -> None:
        self.write("archive/zip_reader.cc", '#include "core/status.h"\n'
                   '  #  include "verifier/policy.h"\n')
        problems = self.check(graph())
        self.assertEqual(len(problems), 1, problems)
        self.assertIn('archive/zip_reader.cc:2 (archive) includes "verifier/policy.h"', problems[0])

    def test_verifier_header_including_pybind11_fails(self) -> None:
        self.write("verifier/internal/x.h", "#include <pybind11/pybind11.h>\n")
        problems = self.check(graph())
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("verifier/internal/x.h:1 (verifier) includes <pybind11/pybind11.h>",
                      problems[0])

    def test_other_components_internal_header_fails(self) -> None:
        self.write("verifier/x.cc", '#include "archive/internal/names.h"\n')
        problems = self.check(graph())
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("archive's internal header", problems[0])

    def test_listed_internal_exception_passes(self) -> None:
        self.write("signing/internal/zip_tail.cc", '#include "archive/internal/zip_format.h"\n')
        self.assertEqual(self.check(graph()), [])

    def test_worker_source_may_include_loader_but_sandbox_library_may_not(self) -> None:
        worker = self.write("sandbox/worker_main.cc", '#include "loader/engine.h"\n')
        self.write("sandbox/launcher.cc", '#include "loader/engine.h"\n')
        g = graph(f"source\tsealpkg_worker\t{worker}\n")
        problems = self.check(g)
        self.assertEqual(len(problems), 1, problems)
        self.assertIn('sandbox/launcher.cc:1 (sandbox) includes "loader/engine.h"', problems[0])

    def test_header_belongs_to_the_target_of_its_source(self) -> None:
        source = self.write("sandbox/safetensors.cc", '#include "sandbox/safetensors.h"\n')
        self.write("sandbox/safetensors.h", '#include "signing/internal_json.h"\n'
                   '#include "verifier/policy.h"\n')
        self.write("sandbox/launcher.h", '#include "signing/json.h"\n')
        g = graph(f"target\tsealpkg_safetensors\tsandbox\nsource\tsealpkg_safetensors\t{source}\n")
        problems = self.check(g)
        self.assertEqual(len(problems), 2, problems)
        self.assertIn('sandbox/launcher.h:1 (sandbox) includes "signing/json.h"', problems[0])
        self.assertIn('sandbox/safetensors.h:2 (safetensors) includes "verifier/policy.h"',
                      problems[1])

    def test_cli_including_loader_fails(self) -> None:
        self.write("cli/load_command.cc", '#include "sandbox/launcher.h"\n#include "loader/x.h"\n')
        problems = self.check(graph())
        self.assertEqual(len(problems), 1, problems)
        self.assertIn('cli/load_command.cc:2 (cli) includes "loader/x.h"', problems[0])


class MainTest(unittest.TestCase):
    def test_exit_codes(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "core").mkdir()
            (root / "core" / "a.cc").write_text('#include "archive/zip_reader.h"\n')
            good = root / "graph.tsv"
            good.write_text(CLEAN_GRAPH)
            self.assertEqual(check_deps.main(["--graph", str(good), "--source-root", tmp]), 1)
            (root / "core" / "a.cc").write_text('#include "core/status.h"\n')
            self.assertEqual(check_deps.main(["--graph", str(good), "--source-root", tmp]), 0)
            bad = root / "bad.tsv"
            bad.write_text("target\tsealpkg_core\n")
            self.assertEqual(check_deps.main(["--graph", str(bad), "--source-root", tmp]), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
