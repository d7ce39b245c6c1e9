"""The pure-Python core never imports tkinter (DESIGN.md §1), and the
layers' arrows point down only: bridge -> delivery -> smtp -> mime."""
from __future__ import annotations

import ast
import subprocess
import sys

from conftest import REPO

CORE = ["pysmtp_tcl.mime", "pysmtp_tcl.smtp", "pysmtp_tcl.delivery"]
#: package -> the sibling packages it must never import
BELOW = {"pysmtp_tcl.mime": ("bridge", "delivery", "smtp"), "pysmtp_tcl.smtp": ("bridge", "delivery"),
         "pysmtp_tcl.delivery": ("bridge",)}


def core_modules():
    for pkg in CORE:
        d = REPO / pkg.replace(".", "/")
        for f in sorted(d.glob("*.py")):
            yield pkg + ("" if f.stem == "__init__" else "." + f.stem), f


def test_core_modules_import_without_tkinter():
    names = [m for m, _ in core_modules()] + ["pysmtp_tcl", "pysmtp_tcl.capture"]
    code = ("import sys, importlib\n"
            "for n in %r: importlib.import_module(n)\n"
            "bad = [m for m in sys.modules if m == 'tkinter' or m.startswith(('tkinter.', '_tkinter'))]\n"
            "print(bad)\n") % names
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]", "core imported tkinter: " + p.stdout


def test_core_sources_do_not_mention_tkinter_imports():
    for mod, path in core_modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] in ("tkinter", "_tkinter") for a in node.names), mod
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] not in ("tkinter", "_tkinter"), mod
                assert not (node.level and (node.module or "").startswith("bridge")), mod


def test_core_never_reaches_into_the_bridge():
    for mod, path in core_modules():
        src = path.read_text()
        assert "pysmtp_tcl.bridge" not in src and "from ..bridge" not in src, mod


def _absolute(mod: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = (mod if is_package else mod.rpartition(".")[0]).split(".")
    return ".".join(parts[:len(parts) - node.level + 1] + ([node.module] if node.module else []))


def test_arrows_point_down_only():
    for mod, path in core_modules():
        pkg = ".".join(mod.split(".")[:2])
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [_absolute(mod, path.stem == "__init__", node)]
            else:
                continue
            for name in names:
                for banned in BELOW[pkg]:
                    assert not name.startswith("pysmtp_tcl." + banned), (mod, name)


def test_delivery_imports_without_tkinter():
    code = ("import sys, importlib\n"
            "for n in ['pysmtp_tcl.delivery.deliver', 'pysmtp_tcl.delivery.msmtprc', 'pysmtp_tcl.delivery.sendmail']:\n"
            "    importlib.import_module(n)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('tkinter', '_tkinter', 'pysmtp_tcl.bridge'))))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]"
