"""Sequence design by in-silico evolution: beam search over single-base changes and motif
insertions toward a goal, under hard constraints, penalised where the ensemble disagrees.

The model comes in as a plain callable, ``predict_members(seqs) -> (S, n, T)``: one slice per
ensemble member (S = 1 for a single model), on the model's modelled scale. Nothing here loads a
model or TensorFlow; the command line does that and passes the callable in.

Each candidate is scored from the member mean ``m`` and member SD ``s`` of one target column:
``m - λ·s`` to maximise, ``-m - λ·s`` to minimise, ``-|m - v| - λ·s`` to reach a value ``v``
(``λ`` = ``disagreement``), so designs stay where the members agree, i.e. where the model has
seen sequences like them. Sequences are uint8 code arrays (0-3 = A, C, G, T) inside the search
and strings only at the model's door, one batch per step.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seqexpr.design_rules import (Rules, as_list, check_options, check_start, site_masks,
                                  start_ids_of)
from seqexpr.encode import ALPHABET
from seqexpr.jsonio import atomic, write_csv

__all__ = ["DesignResult", "design", "write_designs"]

CSV_COLUMNS = ["design_id", "start_id", "sequence", "predicted", "predicted_sd", "n_edits",
               "edits", "start_predicted", "objective"]
PATH_COLUMNS = ["start_id", "design_id", "step", "predicted", "predicted_sd", "objective", "move"]
_LETTERS = np.frombuffer(ALPHABET.encode(), np.uint8)  # code -> ASCII letter


@dataclass
class DesignResult:
    """What :func:`design` returns: ``designs`` (one row per design, :data:`CSV_COLUMNS`),
    ``trajectories`` (each design's path from its start at step 0, :data:`PATH_COLUMNS`) and
    ``settings`` (every option as used, for the manifest, and how each start's search ended)."""

    designs: pd.DataFrame
    trajectories: pd.DataFrame
    settings: dict = field(default_factory=dict)


def _keys(codes: np.ndarray) -> np.ndarray:
    """(n,) bytes ``S{L}`` array of the sequences of an (n, L) code array, made in one batch."""
    return np.ascontiguousarray(_LETTERS[codes]).view(f"S{codes.shape[1]}").ravel()


def _motif_moves(motifs, free: np.ndarray) -> tuple[list, list[str]]:
    """Every placement of each motif, either orientation, entirely on free positions.

    Returns a list of ``(cols, bases)`` groups, (n, k) int column indices and (k,) uint8 codes,
    and one label per placement in group order. A degenerate letter becomes the first base it
    stands for (R -> A, N -> A).
    """
    groups, labels = [], []
    for motif in motifs:
        mask = site_masks(motif, "motif")
        k = len(mask)
        if k > len(free):
            continue
        fwd = mask.argmax(axis=1).astype(np.uint8)
        starts = np.flatnonzero(np.convolve(~free, np.ones(k, int), "valid") == 0)
        for strand, bases in (("+", fwd), ("-", (3 - fwd[::-1]).astype(np.uint8))):
            if strand == "-" and np.array_equal(bases, fwd):
                continue  # a palindrome: the other orientation is the same move
            name = "".join(ALPHABET[b] for b in bases)
            groups.append((starts[:, None] + np.arange(k), bases))
            labels += [f"motif {name} at {s + 1}-{s + k} ({strand})" for s in starts]
    return groups, labels


def _children(beam: np.ndarray, free: np.ndarray, motif_groups) -> tuple[np.ndarray, ...]:
    """All single-base changes at free positions and all motif insertions of each beam row.

    Returns (n, L) uint8 codes, (n,) parent row, and (n,) move (int: single change at
    ``pos * 4 + alt``; negative: ``-1 - motif placement index``).
    """
    pos3 = np.repeat(np.flatnonzero(free), 3)
    shift = np.tile(np.arange(1, 4, dtype=np.uint8), len(pos3) // 3)
    cands, parents, moves = [], [], []
    for p, row in enumerate(beam):
        single = np.repeat(row[None], len(pos3), axis=0)
        alt = (row[pos3] + shift) % 4
        single[np.arange(len(pos3)), pos3] = alt
        cands.append(single)
        moves.append(pos3 * 4 + alt)
        offset, n = 0, len(single)
        for cols, bases in motif_groups:
            inserted = np.repeat(row[None], len(cols), axis=0)
            inserted[np.arange(len(cols))[:, None], cols] = bases
            changed = np.flatnonzero((inserted != row).any(axis=1))  # else already there
            cands.append(inserted[changed])
            moves.append(-1 - offset - changed)
            offset, n = offset + len(cols), n + len(changed)
        parents.append(np.full(n, p))
    return np.concatenate(cands), np.concatenate(parents), np.concatenate(moves)


def _move_text(move: int, parent: np.ndarray, motif_labels: list[str]) -> str:
    """``"17A>G"`` for a single change, the motif's label for an insertion."""
    if move < 0:
        return motif_labels[-1 - move]
    pos, alt = divmod(int(move), 4)
    return f"{pos + 1}{ALPHABET[parent[pos]]}>{ALPHABET[alt]}"


class _Scorer:
    """Calls the model on a batch and turns its members into mean, SD and objective."""

    def __init__(self, predict_members, target, kind, value, disagreement):
        self.predict, self.target = predict_members, target
        self.kind, self.value, self.weight = kind, value, disagreement
        self.members = None  # ensemble size, known after the first call

    def __call__(self, seqs: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pred = np.asarray(self.predict(seqs), dtype=float)
        if pred.ndim != 3 or pred.shape[1] != len(seqs) or pred.shape[0] < 1:
            raise ValueError(f"predict_members returned shape {pred.shape} for {len(seqs)} "
                             "sequences; it must return (members, sequences, targets).")
        if not 0 <= self.target < pred.shape[2]:
            raise ValueError(f"target {self.target} is not a column of the model's "
                             f"{pred.shape[2]} target(s); pick one from 0 to {pred.shape[2] - 1}.")
        self.members = pred.shape[0]
        col = pred[:, :, self.target]
        if not np.isfinite(col).all():
            raise ValueError(f"the model predicted {int((~np.isfinite(col)).sum())} non-finite "
                             "values; design cannot rank candidates it cannot score.")
        m = col.mean(axis=0)
        s = col.std(axis=0, ddof=1) if len(col) > 1 else np.zeros_like(m)
        goal = {"maximize": m, "minimize": -m}.get(self.kind)
        goal = -np.abs(m - self.value) if goal is None else goal
        return m, s, goal - self.weight * s


def _search(sid, start, free, rules, motifs, score, first, *, steps, beam, max_candidates,
            rng, progress):
    """Beam search from one start; the kept nodes (node 0 = the start) and how it ended."""
    nodes = {"codes": [start], "parent": [-1], "step": [0], "move": ["start"],
             "m": [first[0]], "s": [first[1]], "obj": [first[2]]}
    seen = {_keys(start[None])[0]}
    motif_groups, motif_labels = _motif_moves(motifs, free)
    current, best, scored = [0], first[2], 0
    ended = f"ran all {steps} steps"
    for step in range(1, steps + 1):
        cand, parent, move = _children(np.stack([nodes["codes"][i] for i in current]), free,
                                       motif_groups)
        within = (cand != start).sum(axis=1) <= rules.max_edits
        keys = _keys(cand)
        idx = np.sort(np.unique(keys, return_index=True)[1])  # first copy of each sequence
        idx = np.array([i for i in idx if within[i] and keys[i] not in seen], int)
        idx = idx[~rules.broken(cand[idx])]  # the costliest check, on the fewest rows
        if not len(idx):
            ended = (f"step {step}: every candidate would exceed max_edits={rules.max_edits}"
                     if len(cand) and not within.any() else
                     f"step {step}: no allowed candidate (fixed positions, avoid sites and "
                     "gc_range rule out every new change)")
            break
        total = len(idx)
        if max_candidates is not None and total > max_candidates:
            idx = np.sort(rng.choice(idx, max_candidates, replace=False))
        m, s, obj = score([k.decode() for k in keys[idx]])
        scored += len(idx)
        order = np.argsort(-obj, kind="stable")[:beam]
        previous, current = current, []
        for j in order:
            i, up = idx[j], previous[parent[idx[j]]]
            current.append(len(nodes["codes"]))
            for name, v in (("codes", cand[i]), ("parent", up), ("step", step),
                            ("move", _move_text(move[i], nodes["codes"][up], motif_labels)),
                            ("m", m[j]), ("s", s[j]), ("obj", obj[j])):
                nodes[name].append(v)
            seen.add(keys[i])
        improved = obj[order[0]] > best
        best = max(best, obj[order[0]])
        if progress:
            top = int(np.argmax(nodes["obj"]))
            sampled = f" (sampled from {total})" if len(idx) < total else ""
            print(f"design {sid}: step {step}/{steps}, best {nodes['m'][top]:.4g} "
                  f"({nodes['m'][top] - first[0]:+.3g}), {len(idx)} candidates{sampled}",
                  file=sys.stderr, flush=True)
        if not improved:
            ended = f"step {step}: no candidate improved the best objective"
            break
    return nodes, {"ended": ended, "scored": scored}


def _edits(start: np.ndarray, codes: np.ndarray) -> str:
    """``"17A>G;40C>T"``: the changes from ``start``, 1-based, in position order."""
    return ";".join(f"{p + 1}{ALPHABET[start[p]]}>{ALPHABET[codes[p]]}"
                    for p in np.flatnonzero(codes != start))


def _designs_of(sid, start, nodes, n_designs, ended):
    """Design rows and trajectory rows of the ``n_designs`` best kept sequences of one start."""
    obj = np.array(nodes["obj"][1:])
    if len(obj) < n_designs:
        raise ValueError(
            f"start {sid!r}: the search kept only {len(obj)} allowed edited sequence(s), fewer "
            f"than n_designs={n_designs} ({ended}); free more positions, loosen avoid, gc_range "
            "or max_edits, or ask for fewer designs.")
    designs, paths = [], []
    for k, node in enumerate(1 + np.argsort(-obj, kind="stable")[:n_designs], start=1):
        did, codes = f"{sid}_d{k}", nodes["codes"][node]
        designs.append(dict(design_id=did, start_id=sid, sequence=_keys(codes[None])[0].decode(),
                            predicted=nodes["m"][node], predicted_sd=nodes["s"][node],
                            n_edits=int((codes != start).sum()), edits=_edits(start, codes),
                            start_predicted=nodes["m"][0], objective=nodes["obj"][node]))
        path = []
        while node != -1:
            path.append(node)
            node = nodes["parent"][node]
        paths += [(sid, did, nodes["step"][j], nodes["m"][j], nodes["s"][j], nodes["obj"][j],
                   nodes["move"][j]) for j in path[::-1]]
    return designs, paths


def design(predict_members, starts, *, start_ids=None, goal="maximize", target: int = 0,
           n_designs: int = 1, steps: int = 20, max_edits: int = 10, beam: int = 4, fixed=(),
           avoid=(), gc_range=None, motifs=(), disagreement: float = 1.0,
           max_candidates: int | None = None, seed: int = 0,
           progress: bool = True) -> DesignResult:
    """Evolve each start toward ``goal`` by beam search over single-base changes and motif
    insertions, never breaking a constraint.

    Each step expands every beam member by the three changes at each free position and by
    each motif placed (either orientation) entirely on free positions, drops candidates that
    break a constraint or were kept before, scores the rest in one ``predict_members`` call
    and keeps the ``beam`` best. The search stops after ``steps``, when no candidate improves
    the best objective, or when none is allowed. The designs are the ``n_designs`` best
    sequences ever kept (never the start itself).

    Parameters
    ----------
    predict_members : callable
        ``predict_members(seqs: list[str]) -> (S, n, T) float``: each member's predictions on
        the modelled scale (S = 1 for a single model). Sequences are upper-case A/C/G/T, each
        as long as its start.
    starts, start_ids : sequence of str
        Start sequences, A/C/G/T only (any case), and their ids (default start1, start2, ...).
    goal : {"maximize", "minimize"} or float
        Push the prediction up, down, or toward this value ("max"/"min" and British spellings
        accepted; a numeric string counts as a value).
    target : int
        Column of the model's targets the goal applies to.
    n_designs, steps, beam : int
        Designs per start (at most ``beam``), most search steps, sequences kept per step.
    max_edits : int
        Most bases a design may differ from its start (a motif insertion counts each base it
        changes).
    fixed : sequence
        Positions that must not change, 1-based and inclusive: ``"1-20"``, ``"57"``, ints,
        ``(start, end)`` tuples.
    avoid : sequence of str
        IUPAC sites (e.g. ``"GAATTC"``) no design may contain on either strand; a start that
        contains one is refused.
    gc_range : (float, float), optional
        Lowest and highest GC fraction of a design (inclusive); a start outside is refused.
    motifs : sequence of str
        IUPAC consensus strings to try inserting, by replacing bases; a degenerate letter is
        written as the first base it stands for in ``IUPAC_BASES`` (R -> A, S -> C, N -> A).
    disagreement : float
        Weight of the member SD (ddof 1; 0 for a single model) subtracted from the objective.
    max_candidates, seed : int, optional
        Score at most this many candidates per step, a random subset; start ``i`` draws it
        from ``default_rng([seed, i])``.
    progress : bool
        Print one line per start per step on stderr.

    Returns
    -------
    DesignResult
    """
    kind, value, gc_range = check_options(goal, target, n_designs, steps, max_edits, beam,
                                          gc_range, disagreement, max_candidates)
    starts, ids = as_list(starts), start_ids_of(starts, start_ids)
    motifs, avoid, fixed = as_list(motifs), as_list(avoid), as_list(fixed)
    for motif in motifs:
        site_masks(motif, "motif")
    rules = Rules(avoid, gc_range, max_edits)
    prepared = [check_start(seq, sid, rules, fixed) for seq, sid in zip(starts, ids)]
    score = _Scorer(predict_members, int(target), kind, value, float(disagreement))
    firsts = score([_keys(c[None])[0].decode() for c, _ in prepared])
    designs, paths, searches = [], [], {}
    for i, (sid, (codes, fixed_mask)) in enumerate(zip(ids, prepared)):
        nodes, searches[sid] = _search(
            sid, codes, ~fixed_mask, rules, motifs, score, [f[i] for f in firsts], steps=steps,
            beam=beam, max_candidates=max_candidates, rng=np.random.default_rng([seed, i]),
            progress=progress)
        rows, path = _designs_of(sid, codes, nodes, n_designs, searches[sid]["ended"])
        designs += rows
        paths += path
    settings = dict(goal=kind if value is None else value, target=int(target),
                    n_designs=n_designs, steps=steps, max_edits=max_edits, beam=beam,
                    fixed=[list(f) if isinstance(f, tuple) else f for f in fixed],
                    avoid=avoid, gc_range=None if gc_range is None else list(gc_range),
                    motifs=motifs, disagreement=float(disagreement),
                    max_candidates=max_candidates, seed=seed, members=score.members,
                    searches=searches)
    return DesignResult(pd.DataFrame(designs, columns=CSV_COLUMNS),
                        pd.DataFrame(paths, columns=PATH_COLUMNS), settings)


def write_designs(result: DesignResult, out_dir) -> dict[str, Path]:
    """Write ``designs.fa`` and ``designs.csv`` into ``out_dir``, each atomically.

    FASTA headers read ``>design_id start=start_id predicted=... sd=... edits=n_edits``.
    Returns ``{"fasta": path, "csv": path}``.
    """
    out = Path(out_dir)
    fasta = out / "designs.fa"
    lines = [f">{r.design_id} start={r.start_id} predicted={r.predicted:.6g} "
             f"sd={r.predicted_sd:.6g} edits={r.n_edits}\n{r.sequence}\n"
             for r in result.designs.itertuples()]
    with atomic(fasta) as tmp:
        tmp.write_text("".join(lines))
    return {"fasta": fasta, "csv": write_csv(out / "designs.csv", result.designs, index=False)}
