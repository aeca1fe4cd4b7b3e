#!/usr/bin/env python3
"""Tests check_layers.py on small trees made in a temporary directory, so
the check of the real tree cannot pass by checking nothing.

    python3 tests/layers/check_layers_test.py
"""

import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_layers.py")

LAYERS = """\
scan src include tools
include-dirs . include
layer base
  src/base/
  include/lib/status.h
layer left: base
  src/left/
layer right: base
  src/right/
layer top
  src/top/
  include/lib/api.h
layer tools public-only
  tools/
public include/lib/*.h
"""

# A clean tree: every include points down or stays in its layer.
CLEAN = {
    "include/lib/status.h": "#pragma once\n",
    "include/lib/api.h": '#include "lib/status.h"\n',
    "src/base/status.cc": '#include "lib/status.h"\n#include <vector>\n#include "zlib.h"\n',
    "src/base/util.h": '#include "status_helpers.h"\n',
    "src/base/status_helpers.h": "#include <string>\n",
    "src/left/left.h": '#include "src/base/util.h"\n',
    "src/right/right.h": '#include "src/base/util.h"\n',
    "src/top/top.h": '#include "src/left/left.h"\n#include "src/right/right.h"\n',
    "src/top/top.cc": '#include "src/top/top.h"\n#include "lib/api.h"\n',
    "tools/cli/main.cc": '#include "lib/api.h"\n#include "tools/cli/flags.h"\n',
    "tools/cli/flags.h": "",
}

DIAGRAM = textwrap.dedent("""\
    tools  -> every layer below, public headers only
    top    -> every layer below
    right  -> base
    left   -> base
    base   -> (nothing)
    """)


class CheckLayersTest(unittest.TestCase):
    def run_check(self, files, layers=LAYERS, extra_args=()):
        with tempfile.TemporaryDirectory() as root:
            for path, text in files.items():
                full = os.path.join(root, path)
                os.makedirs(os.path.dirname(full), exist_ok=True)
                with open(full, "w", encoding="utf-8") as out:
                    out.write(text)
            layers_path = os.path.join(root, "layers.txt")
            with open(layers_path, "w", encoding="utf-8") as out:
                out.write(layers)
            result = subprocess.run(
                [sys.executable, SCRIPT, "--root", root, "--layers", layers_path,
                 *(arg.format(root=root) for arg in extra_args)],
                capture_output=True, text=True, check=False)
        return result.returncode, result.stdout + result.stderr

    def test_clean_tree_passes(self):
        code, output = self.run_check(CLEAN)
        self.assertEqual(code, 0, output)
        self.assertIn("11 files, 5 layers: ok", output)

    def test_upward_include_fails(self):
        files = dict(CLEAN)
        files["src/base/util.h"] = '#include "src/top/top.h"\n'
        code, output = self.run_check(files)
        self.assertEqual(code, 1, output)
        self.assertIn('src/base/util.h:1: #include "src/top/top.h": layer base may not '
                      "include layer top (src/top/top.h)", output)

    def test_upward_include_of_a_public_header_fails(self):
        files = dict(CLEAN)
        files["src/left/left.h"] = '\n#include <lib/api.h>\n'
        code, output = self.run_check(files)
        self.assertEqual(code, 1, output)
        self.assertIn("src/left/left.h:2: #include <lib/api.h>: layer left may not include "
                      "layer top (include/lib/api.h)", output)

    def test_sibling_include_fails(self):
        files = dict(CLEAN)
        files["src/right/right.h"] = '#include "../left/left.h"\n'
        code, output = self.run_check(files)
        self.assertEqual(code, 1, output)
        self.assertIn('src/right/right.h:1: #include "../left/left.h": layer right may not '
                      "include layer left (src/left/left.h)", output)

    def test_cycle_between_directories_of_one_layer_fails(self):
        files = dict(CLEAN)
        files["src/top/inner/a.h"] = '#include "src/top/b.h"\n'
        files["src/top/b.h"] = '#include "src/top/inner/a.h"\n'
        code, output = self.run_check(files)
        self.assertEqual(code, 1, output)
        self.assertIn("cycle between src/top, src/top/inner:", output)
        self.assertIn('src/top/b.h:1: #include "src/top/inner/a.h"', output)
        self.assertIn('src/top/inner/a.h:1: #include "src/top/b.h"', output)

    def test_includes_within_one_directory_are_no_cycle(self):
        files = dict(CLEAN)
        files["src/top/a.h"] = '#include "b.h"\n'
        files["src/top/b.h"] = '#include "a.h"\n'
        code, output = self.run_check(files)
        self.assertEqual(code, 0, output)

    def test_file_no_layer_owns_fails(self):
        files = dict(CLEAN)
        files["src/stray/stray.cc"] = ""
        code, output = self.run_check(files)
        self.assertEqual(code, 1, output)
        self.assertIn("src/stray/stray.cc: no layer owns this file", output)

    def test_include_of_an_unowned_tree_file_fails(self):
        files = dict(CLEAN)
        files["tests/helper.h"] = ""
        files["src/top/top.cc"] = '#include "tests/helper.h"\n'
        code, output = self.run_check(files)
        self.assertEqual(code, 1, output)
        self.assertIn("tests/helper.h belongs to no layer", output)

    def test_layer_that_owns_nothing_fails(self):
        layers = LAYERS.replace("layer top\n", "layer empty\n  src/empty/\nlayer top\n")
        code, output = self.run_check(CLEAN, layers=layers)
        self.assertEqual(code, 1, output)
        self.assertIn("layer empty owns no file", output)
        self.assertIn("src/empty/ (layer empty) names no file", output)

    def test_public_only_layer_may_not_include_internals(self):
        files = dict(CLEAN)
        files["tools/cli/main.cc"] = '#include "src/base/util.h"\n'
        code, output = self.run_check(files)
        self.assertEqual(code, 1, output)
        self.assertIn("layer tools may include only public headers; src/base/util.h is not one",
                      output)

    def test_commented_and_quoted_includes_are_not_includes(self):
        files = dict(CLEAN)
        files["src/base/status.cc"] = (
            '/*\n#include "src/top/top.h"\n*/\n'
            'const char* kText = R"(\n#include "src/top/top.h"\n)";\n')
        code, output = self.run_check(files)
        self.assertEqual(code, 0, output)

    def test_literals_and_comments_do_not_hide_includes(self):
        files = dict(CLEAN)
        files["src/base/status.cc"] = (
            'const char* kGlob = "src/*";\nconst long kMany = 1\'000\'000;\n'
            'const char* kRaw = R"x(/*)x";\n// "\n'
            '/* one */ #include "src/top/top.h"\n')
        code, output = self.run_check(files)
        self.assertEqual(code, 1, output)
        self.assertIn('src/base/status.cc:5: #include "src/top/top.h": layer base may not '
                      "include layer top", output)

    def test_layer_may_name_only_layers_above_it(self):
        layers = LAYERS.replace("layer left: base", "layer left: base right")
        code, output = self.run_check(CLEAN, layers=layers)
        self.assertEqual(code, 2, output)
        self.assertIn("layer left may include right, which is not listed above it", output)

    def test_doc_must_hold_the_diagram(self):
        files = dict(CLEAN)
        files["doc.md"] = "# Layers\n\nbase   -> (nothing)\n"
        code, output = self.run_check(files, extra_args=["--doc", "{root}/doc.md"])
        self.assertEqual(code, 1, output)
        self.assertIn("doc.md: does not contain the layer diagram", output)
        files["doc.md"] = "# Layers\n\n```\n" + DIAGRAM + "```\n"
        code, output = self.run_check(files, extra_args=["--doc", "{root}/doc.md"])
        self.assertEqual(code, 0, output)

    def test_diagram(self):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as out:
            out.write(LAYERS)
        try:
            result = subprocess.run([sys.executable, SCRIPT, "--layers", out.name, "--diagram"],
                                    capture_output=True, text=True, check=True)
        finally:
            os.unlink(out.name)
        self.assertEqual(result.stdout, DIAGRAM)


if __name__ == "__main__":
    unittest.main()
