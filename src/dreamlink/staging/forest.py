"""Exact, fast evaluation of a LightGBM multiclass forest (YASA's pretrained staging models).

A night has only ~1000 epochs, so staging it calls the classifier on a few hundred rows at a time
(and the causal stager on one row every 5 s). For such small batches LightGBM's own
``Booster.predict`` spends most of its time in per-call overhead: ≈ 20 ms for the 120 epochs of an
hour with YASA's 2000-tree EEG model, more than all of dreamlink's feature extraction. The
well-kept tool for this is `lleaves <https://github.com/siboehm/lleaves>`_ (an LLVM compiler for
LightGBM models), but lleaves 1.3 does not run with the llvmlite that current numba needs (it calls
``llvmlite.binding.PassManagerBuilder``, removed in llvmlite 0.45). So this module does the same job
in a small way: the trees are read once from LightGBM's own text model format
(``Booster.model_to_string``) into flat node arrays and walked by one numba-compiled loop.

The result is the same as ``Booster.predict`` (raw scores summed per class, then softmax) to
floating-point rounding; a test checks it on real features against LightGBM itself. Supported:
numerical ``<=`` splits with LightGBM's missing-value handling (``None``: NaN read as 0;
``Zero``; ``NaN``) and ``default_left``; multiclass softmax or single-output raw scores.
Categorical splits raise :class:`ValueError` (YASA's models have none).

References
----------
Ke G, Meng Q, Finley T, et al. (2017). LightGBM: a highly efficient gradient boosting decision tree.
Advances in Neural Information Processing Systems 30:3146-3154.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numba
import numpy as np

#: LightGBM's zero threshold for the ``Zero`` missing type (``kZeroThreshold``).
ZERO_THRESHOLD = 1e-35
#: Missing-value types in LightGBM's ``decision_type`` bits 2–3.
MISSING_NONE, MISSING_ZERO, MISSING_NAN = 0, 1, 2


@dataclass(frozen=True)
class Forest:
    """A LightGBM forest flattened into node arrays.

    Attributes
    ----------
    feature_names : tuple of str
        Input columns in the model's order.
    n_class : int
        Outputs per row (``num_tree_per_iteration``).
    objective : str
        LightGBM objective string (``multiclass num_class:5``, ...).
    roots : numpy.ndarray
        Index of each tree's root node in the node arrays.
    tree_class : numpy.ndarray
        Output (class) each tree adds to.
    feature : numpy.ndarray
        Split feature of each node, ``-1`` for leaves.
    threshold, value : numpy.ndarray
        Split threshold of internal nodes; output of leaves.
    left, right : numpy.ndarray
        Child node indices.
    missing, default_left : numpy.ndarray
        Missing-value type and default direction of each split.
    heap : tuple of numpy.ndarray | None
        The same trees padded to complete binary trees of the forest's depth, in heap order
        (``feature (n_trees, 2^D − 1)``, ``threshold`` alike, ``leaves (n_trees, 2^D)``), walked
        without branches; built when there are no missing-value splits and depth ``D`` ≤ 10.
    """

    feature_names: tuple[str, ...]
    n_class: int
    objective: str
    roots: np.ndarray
    tree_class: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    left: np.ndarray
    right: np.ndarray
    missing: np.ndarray
    default_left: np.ndarray
    heap: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return int(self.roots.size)

    def raw_scores(self, X: np.ndarray) -> np.ndarray:
        """Summed tree outputs ``(n_rows, n_class)`` for the feature matrix ``X`` (model's column order)."""
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ValueError(f"X must be (n_rows, {len(self.feature_names)}), got {X.shape}")
        if not np.any(self.missing):  # LightGBM reads NaN as 0 for missing type None
            X = np.where(np.isnan(X), 0.0, X)
            if self.heap is not None:
                feature, threshold, leaves = self.heap
                XT = np.ascontiguousarray(X.T)
                return _walk_heap_forest(XT, feature, threshold, leaves, self.tree_class, self.n_class)
        return _walk_forest(
            X, self.roots, self.tree_class, self.feature, self.threshold, self.value,
            self.left, self.right, self.missing, self.default_left, self.n_class,
        )

    def predict(self, X: np.ndarray) -> np.ndarray:
        """What ``Booster.predict(X)`` returns: class probabilities for multiclass models."""
        raw = self.raw_scores(X)
        if self.objective.startswith(("multiclass ", "multiclass\n")) or self.objective == "multiclass":
            raw = raw - raw.max(axis=1, keepdims=True)
            e = np.exp(raw)
            return e / e.sum(axis=1, keepdims=True)
        return raw[:, 0] if self.n_class == 1 else raw


def _ints(line: str) -> np.ndarray:
    return np.array(line.split(), dtype=np.int64) if line else np.zeros(0, np.int64)


def _floats(line: str) -> np.ndarray:
    return np.array(line.split(), dtype=np.float64) if line else np.zeros(0)


def forest_from_model_string(text: str) -> Forest:
    """Parse LightGBM's text model format (``Booster.model_to_string()``) into a :class:`Forest`."""
    header, _, body = text.partition("\nTree=")
    head = dict(line.split("=", 1) for line in header.splitlines() if "=" in line)
    n_class = int(head.get("num_tree_per_iteration", head.get("num_class", "1")))
    names = tuple(head["feature_names"].split())
    body = "Tree=" + body.split("\nend of trees")[0]
    feats, thrs, vals, lefts, rights, miss, dleft, roots, tclass = [], [], [], [], [], [], [], [], []
    offset = 0
    for k, block in enumerate(body.split("\nTree=")):
        kv = dict(line.split("=", 1) for line in block.splitlines()[1:] if "=" in line)
        n_leaves = int(kv["num_leaves"])
        leaf_value = _floats(kv["leaf_value"])
        n_int = n_leaves - 1
        if int(kv.get("num_cat", "0")) > 0:
            raise ValueError("categorical splits are not supported")
        if n_int == 0:  # a single-leaf tree
            feats.append(np.array([-1])), thrs.append(np.zeros(1)), vals.append(leaf_value[:1])
            lefts.append(np.zeros(1, np.int64)), rights.append(np.zeros(1, np.int64))
            miss.append(np.zeros(1, np.int64)), dleft.append(np.zeros(1, bool))
            roots.append(offset), tclass.append(k % n_class)
            offset += 1
            continue
        dtype = _ints(kv["decision_type"])
        if np.any(dtype & 1):
            raise ValueError("categorical splits are not supported")

        def node(child: np.ndarray, base: int = offset, n: int = n_int) -> np.ndarray:
            # LightGBM: child >= 0 is an internal node, child < 0 is leaf ~child; leaves follow internals.
            return np.where(child >= 0, base + child, base + n + (~child))

        feats.append(np.concatenate([_ints(kv["split_feature"]), -np.ones(n_leaves, np.int64)]))
        thrs.append(np.concatenate([_floats(kv["threshold"]), np.zeros(n_leaves)]))
        vals.append(np.concatenate([np.zeros(n_int), leaf_value]))
        lefts.append(np.concatenate([node(_ints(kv["left_child"])), np.zeros(n_leaves, np.int64)]))
        rights.append(np.concatenate([node(_ints(kv["right_child"])), np.zeros(n_leaves, np.int64)]))
        miss.append(np.concatenate([(dtype >> 2) & 3, np.zeros(n_leaves, np.int64)]))
        dleft.append(np.concatenate([(dtype & 2) > 0, np.zeros(n_leaves, bool)]))
        roots.append(offset), tclass.append(k % n_class)
        offset += n_int + n_leaves
    forest = Forest(
        feature_names=names,
        n_class=n_class,
        objective=head.get("objective", ""),
        roots=np.asarray(roots, np.int64),
        tree_class=np.asarray(tclass, np.int64),
        feature=np.concatenate(feats).astype(np.int32),
        threshold=np.concatenate(thrs),
        value=np.concatenate(vals),
        left=np.concatenate(lefts).astype(np.int32),
        right=np.concatenate(rights).astype(np.int32),
        missing=np.concatenate(miss).astype(np.int64),
        default_left=np.concatenate(dleft),
    )
    if not np.any(forest.missing):
        heap = _heap_layout(forest)
        if heap is not None:
            forest = dataclasses.replace(forest, heap=heap)
    return forest


def _heap_layout(forest: Forest, max_depth: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Pad every tree to a complete tree of the forest's depth, in heap order (children of slot
    ``k`` at ``2k+1``, ``2k+2``). A leaf above the bottom becomes splits that always go left
    (threshold +∞) over copies of its value. ``None`` if the forest is deeper than ``max_depth``."""

    def depth(node: int) -> int:
        if forest.feature[node] < 0:
            return 0
        return 1 + max(depth(int(forest.left[node])), depth(int(forest.right[node])))

    d = max(depth(int(r)) for r in forest.roots)
    if d > max_depth:
        return None
    d = max(d, 1)
    n_int = 2**d - 1
    feature = np.zeros((forest.n_trees, n_int), np.int32)
    threshold = np.full((forest.n_trees, n_int), np.inf)
    leaves = np.zeros((forest.n_trees, 2**d))
    for t, root in enumerate(forest.roots):
        stack = [(int(root), 0, 0)]  # (node, heap slot, level)
        while stack:
            node, slot, level = stack.pop()
            if forest.feature[node] >= 0:
                feature[t, slot] = forest.feature[node]
                threshold[t, slot] = forest.threshold[node]
                stack.append((int(forest.left[node]), 2 * slot + 1, level + 1))
                stack.append((int(forest.right[node]), 2 * slot + 2, level + 1))
            else:  # the leaf covers the bottom slots of its subtree
                span = 2 ** (d - level)
                first = (slot + 1) * span - 1 - n_int
                leaves[t, first : first + span] = forest.value[node]
    return feature, threshold, leaves


def forest_from_booster(booster) -> Forest:
    """A :class:`Forest` from a trained ``lightgbm.Booster`` (or an sklearn wrapper's ``booster_``)."""
    return forest_from_model_string(booster.model_to_string())


@numba.njit(cache=True, nogil=True)
def _walk_forest(
    X, roots, tree_class, feature, threshold, value, left, right, missing, default_left, n_class
):
    n_rows = X.shape[0]
    out = np.zeros((n_rows, n_class))
    for t in range(roots.size):  # tree-major: one tree's nodes stay in cache across the rows
        c = tree_class[t]
        for i in range(n_rows):
            node = roots[t]
            while feature[node] >= 0:
                v = X[i, feature[node]]
                m = missing[node]
                if m != MISSING_NAN and np.isnan(v):
                    v = 0.0
                if (m == MISSING_ZERO and abs(v) <= ZERO_THRESHOLD) or (m == MISSING_NAN and np.isnan(v)):
                    node = left[node] if default_left[node] else right[node]
                elif v <= threshold[node]:
                    node = left[node]
                else:
                    node = right[node]
            out[i, c] += value[node]
    return out


@numba.njit(cache=True, nogil=True)
def _walk_heap_forest(XT, feature, threshold, leaves, tree_class, n_class):
    """Walk of complete trees in heap order, one level at a time for all rows (independent loads
    the CPU can overlap); ``XT`` is the transposed feature matrix, NaN already replaced by 0."""
    n_rows = XT.shape[1]
    n_trees, n_int = feature.shape
    depth = 0
    while (1 << depth) - 1 < n_int:
        depth += 1
    out = np.zeros((n_class, n_rows))
    k = np.zeros(n_rows, np.int64)
    for t in range(n_trees):
        c = tree_class[t]
        f_t = feature[t]
        th_t = threshold[t]
        lv_t = leaves[t]
        k[:] = 0
        for _ in range(depth):
            for i in range(n_rows):
                kk = k[i]
                k[i] = 2 * kk + 1 + (XT[f_t[kk], i] > th_t[kk])
        for i in range(n_rows):
            out[c, i] += lv_t[k[i] - n_int]
    return out.T
