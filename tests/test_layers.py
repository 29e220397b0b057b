"""The package's shape: imports go one way, only the stages touch the run folder, private
helpers stay private, and the light stages do not pull in TensorFlow."""

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "seqexpr"
TOP = {"seqexpr.pipeline", "seqexpr.__main__", "seqexpr.nbtest", "seqexpr.nbclean",
       "seqexpr.panel", "seqexpr.use"}
# The layers of README's Layout, lowest first: a module imports its own layer or lower ones.
LAYERS = [
    "_backend jsonio _spill _mapped encode kmers composition homology",  # sequences
    "_textfile _readers _checks io _variant_problems variant_files transforms duplicates "
    "explore splits demo_truth demo runfolder",  # data
    "models batches distribute train predict baselines kmer_ridge bundle scoring",  # models
    "bootstrap evaluate metrics",  # statistics
    "patterns patterns.inputs patterns.shuffle patterns.ism patterns.gradients "
    "patterns.attribution_checks patterns.seqlets patterns.discovery patterns.filters "
    "patterns.taxa patterns.jaspar patterns.truth patterns.effects patterns.positions",
    "variants design_rules design",  # using a model: variant effects, sequence design
    "plots plots._common plots.load plots.explore plots.encode plots.model plots.evaluate "
    "plots.patterns plots.variants plots.design",
    "stages stages.params stages.load stages.explore stages.encode stages.model "
    "stages.evaluate stages.patterns stages.variants",
    "pipeline nbtest nbclean panel use __main__",  # the driver
]
LAYER = {f"seqexpr.{m}": i for i, names in enumerate(LAYERS) for m in names.split()}


def _modules():
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, ast.parse(path.read_text())


def _imports(tree):
    """(module, names) of every seqexpr import, in functions too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("seqexpr"):
                    yield a.name, []
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqexpr"):
            for a in node.names:  # `from seqexpr import x` imports the module seqexpr.x
                sub = f"{node.module}.{a.name}"
                if (PKG.parent / (sub.replace(".", "/") + ".py")).exists() or \
                        (PKG.parent / sub.replace(".", "/")).is_dir():
                    yield sub, []
                else:
                    yield node.module, [a.name]


GRAPH = {name: {m for m, _ in _imports(tree)} - {name} for name, tree in _modules()}


def test_no_import_cycles():
    state, cycles = {}, []

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt not in GRAPH:
                continue
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [name])
    assert not cycles, f"import cycles: {cycles}"


def test_every_module_has_a_layer_and_imports_only_downward():
    assert not set(GRAPH) - set(LAYER) - {"seqexpr"}, "give new modules a layer in LAYERS"
    for name, deps in GRAPH.items():
        up = sorted(d for d in deps if LAYER.get(d, -1) > LAYER.get(name, 99))
        assert not up, f"{name} (layer {LAYER.get(name)}) imports {up} from a higher layer"


def test_only_the_stages_and_the_driver_touch_the_run_folder():
    users = {m for m, deps in GRAPH.items() if "seqexpr.runfolder" in deps}
    outside = {m for m in users if not m.startswith("seqexpr.stages") and m not in TOP}
    assert not outside, f"{sorted(outside)} read or write the run folder: move that into a stage"


def test_lower_layers_never_import_the_stages_or_the_driver():
    for name, deps in GRAPH.items():
        if name.startswith("seqexpr.stages") or name in TOP:
            continue
        up = {d for d in deps if d.startswith("seqexpr.stages") or d in TOP}
        assert not up, f"{name} imports {sorted(up)}, a layer above it"


def test_private_helpers_stay_in_their_module():
    for name, tree in _modules():
        for module, names in _imports(tree):
            private = [n for n in names if n.startswith("_") and module != name]
            assert not private, f"{name} imports private {private} from {module}"


def test_the_light_stages_do_not_load_tensorflow():
    code = ("import sys, seqexpr.__main__, seqexpr.stages.load, seqexpr.stages.explore, "
            "seqexpr.stages.encode, seqexpr.stages.evaluate, seqexpr.stages.model; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False", "importing 01-05's stages pulled in TensorFlow"
