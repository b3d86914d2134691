"""glb_buffering="zigzag": each corner's candidate DRAM schedules (staircase.members) against a brute
force written from their definition (every schedule of the corner, plain loops), on random grids; and
the property they exist for: every candidate of a smaller GLB is matched on a bigger one by one at
least as good (the same schedule with its copies or more, or the double-buffered schedule)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hdx.cost.analytical.staircase import TIE, Cells, members, staircase

SHAPE = (3, 3, 2, 2, 1)


def random_cells(rng, n_l: int = 2) -> Cells:
    d = int(np.prod(SHAPE))
    tile = tuple(rng.integers(1, 40, size=(d, n_l)).astype(np.float64) for _ in range(3))
    replaced = tuple(rng.random((d, n_l)) < 0.6 for _ in range(3))
    per_order = tuple(tuple(rng.integers(1, 100, size=(d, n_l)).astype(np.float64) for _ in range(3))
                      for _ in range(3))
    totals = [sum(per_order[x][j] for x in range(3)) for j in range(3)]
    words = np.minimum(np.minimum(totals[0], totals[1]), totals[2])
    counts = tuple(rng.integers(1, 5, size=(d, n_l)).astype(np.float64) for _ in range(3))
    return Cells(SHAPE, words, tile[0] + tile[1] + tile[2], tile, replaced, per_order, counts)


def corner_cells(corner: int) -> list[int]:
    ca = np.unravel_index(corner, SHAPE)
    return [d for d in range(int(np.prod(SHAPE)))
            if all(i <= c for i, c in zip(np.unravel_index(d, SHAPE), ca, strict=True))]


def first_pick(cells: Cells, glb: np.ndarray):
    """Per corner, layer and GLB size: the fewest-words schedule that fits once (ties: the first), else
    the smallest (ties: fewest words, then the first), and whether one fits."""
    n_d, n_l = cells.words.shape
    pick = np.zeros((n_d, n_l, len(glb)), dtype=np.intp)
    fits = np.zeros(pick.shape, dtype=bool)
    for c, l_, u in itertools.product(range(n_d), range(n_l), range(len(glb))):
        region = corner_cells(c)
        fit = [d for d in region if cells.space[d, l_] <= glb[u]]
        if fit:
            pick[c, l_, u] = min(fit, key=lambda d: (cells.words[d, l_], d))
            fits[c, l_, u] = True
        else:
            pick[c, l_, u] = min(region, key=lambda d: (cells.space[d, l_], cells.words[d, l_], d))
    return pick, fits


def no_copy_words(cells: Cells, d: int, l_: int, copies: set[int]) -> tuple:
    stalled = [bool(cells.replaced[x][d, l_]) and x not in copies for x in range(3)]
    best, out = np.inf, None
    for j in range(3):
        words = [cells.per_order[x][j][d, l_] for x in range(3)]
        if sum(words) > cells.words[d, l_] * (1 + TIE):
            continue
        left = tuple(w if s else 0.0 for w, s in zip(words, stalled, strict=True))
        if sum(left) < best:
            best, out = sum(left), left
    return out


def brute(cells: Cells, corner: int, l_: int, g: float, pick: int, fits: bool) -> list[tuple]:
    """The candidates of one corner by definition: (cell or None for the double-buffered one, DRAM words,
    words without a copy per operand)."""
    region = corner_cells(corner)
    if not fits:  # the smallest schedule stands in, without copies
        return [(pick, cells.words[pick, l_], no_copy_words(cells, pick, l_, set()))]
    double = [d for d in region
              if sum(cells.tile[x][d, l_] * (1 + cells.replaced[x][d, l_]) for x in range(3)) <= g]
    wd = min((cells.words[d, l_] for d in double), default=np.inf)
    once = [d for d in region if cells.space[d, l_] <= g]
    out = []
    for d in once:
        s, w = cells.space[d, l_], cells.words[d, l_]
        # on the front of (space, words), of equal ones the first
        sp, wo = cells.space[:, l_], cells.words[:, l_]
        dominated = any(sp[e] <= s and wo[e] <= w and (sp[e] < s or wo[e] < w or e < d)
                        for e in once if e != d)
        if dominated or w >= wd:
            continue
        rep = [x for x in range(3) if cells.replaced[x][d, l_]]
        fit = [set(sub) for k in range(len(rep) + 1) for sub in itertools.combinations(rep, k)
               if s + sum(cells.tile[x][d, l_] for x in sub) <= g]
        for sub in fit:
            if not any(sub < other for other in fit):  # maximal
                out.append((d, w, no_copy_words(cells, d, l_, sub)))
    if np.isfinite(wd):
        out.append((None, wd, (0.0, 0.0, 0.0)))
    return out


def as_sets(cands):
    return sorted((-1 if c is None else c, float(w), tuple(float(v) for v in p)) for c, w, p in cands)


@pytest.mark.parametrize("seed", range(6))
def test_members_are_the_staircase_with_maximal_copies_and_the_double_buffered_schedule(seed):
    rng = np.random.default_rng(seed)
    cells = random_cells(rng)
    glb = np.array([20.0, 45.0, 70.0, 120.0, 400.0])
    pick, fits = first_pick(cells, glb)
    sc = staircase(cells, glb, pick, fits, np.zeros(2, dtype=bool))
    at = np.arange(pick.size)
    n_c, words, cell, stalled, _ = members(sc, at)
    starts = np.concatenate([[0], np.cumsum(n_c)])
    n_l, n_u = pick.shape[1:]
    for a in at:
        c, rest = divmod(int(a), n_l * n_u)
        l_, u = divmod(rest, n_u)
        lo, hi = starts[a], starts[a + 1]
        got = [(int(cell[k]), words[k], tuple(s[k] for s in stalled)) for k in range(lo, hi)]
        if fits[c, l_, u] and np.isfinite(sc.double_words.reshape(-1)[a]):  # the double-buffered one: last
            got[-1] = (None, *got[-1][1:])
        want = brute(cells, c, l_, glb[u], int(pick[c, l_, u]), bool(fits[c, l_, u]))
        assert as_sets(got) == as_sets(want), (c, l_, u)
        assert list(words[lo:hi]) == sorted(words[lo:hi])  # fewest words first


def latency(cands, array: float, top: float = 4.0) -> float:
    """A stand-in for the windows' latency of each candidate (every operand's window array / top)."""
    return min(max(array + sum(max(p - array / top, 0.0) for p in parts), w) for _, w, parts in cands)


@pytest.mark.parametrize("seed", range(6))
def test_a_bigger_glb_keeps_a_candidate_at_least_as_good_as_each_of_a_smaller_one(seed):
    rng = np.random.default_rng(100 + seed)
    cells = random_cells(rng)
    glb = np.array([15.0, 25.0, 35.0, 50.0, 80.0, 130.0, 250.0])
    pick, fits = first_pick(cells, glb)
    sc = staircase(cells, glb, pick, fits, np.zeros(2, dtype=bool))
    n_d, n_l, n_u = pick.shape
    at = np.arange(pick.size)
    n_c, words, _, stalled, _ = members(sc, at)
    starts = np.concatenate([[0], np.cumsum(n_c)])

    def cands(c, l_, u):
        a = (c * n_l + l_) * n_u + u
        return [(None, words[k], tuple(s[k] for s in stalled)) for k in range(starts[a], starts[a + 1])]
    for c, l_ in itertools.product(range(n_d), range(n_l)):
        for u in range(n_u - 1):
            if not fits[c, l_, u]:
                continue
            small, big = cands(c, l_, u), cands(c, l_, u + 1)
            for array in (1.0, 30.0, 100.0, 300.0):
                assert latency(big, array) <= latency(small, array) * (1 + 1e-9), (c, l_, u, array)



@pytest.mark.parametrize("seed", range(3))
def test_a_schedule_that_costs_as_an_earlier_one_of_its_corner_is_not_a_second_candidate(seed, monkeypatch):
    # cells of a corner with the same DRAM words, words without a copy and tiles per group (they differ
    # only in where a group's tiles fall on its axes) cost the same under every GLB-level order: members
    # lists the first of them only, and every other candidate as before, in its order
    import hdx.cost.analytical.staircase as sc_mod

    rng = np.random.default_rng(40 + seed)
    cells = random_cells(rng)
    first, *copies = [np.ravel_multi_index(ix, SHAPE)
                      for ix in ((1, 0, 0, 0, 0), (0, 1, 0, 0, 0), (2, 1, 1, 0, 0))]
    for a in (cells.words, cells.space, *cells.tile, *cells.counts, *(w for p in cells.per_order for w in p),
              *cells.replaced):
        a[copies] = a[first]
    glb = np.array([20.0, 45.0, 70.0, 120.0, 400.0])
    pick, fits = first_pick(cells, glb)
    sc = staircase(cells, glb, pick, fits, np.zeros(2, dtype=bool), every_double=True)
    at = np.arange(pick.size)
    got = members(sc, at)
    monkeypatch.setattr(sc_mod, "_first_of_equal", lambda keys: np.ones(np.size(keys[0]), dtype=bool))
    every = members(sc, at)

    def per_corner(out):
        n_c, words, cell, stalled, counts = out
        rows = list(zip(cell.tolist(), words, *stalled, *counts, strict=True))
        ends = np.cumsum(n_c)
        return [rows[e - n:e] for n, e in zip(n_c, ends, strict=True)]
    removed = 0
    for mine, all_ in zip(per_corner(got), per_corner(every), strict=True):
        want, seen = [], set()
        for row in all_:  # by hand: the first of each cost, in order
            if row[1:] not in seen:
                seen.add(row[1:])
                want.append(row)
        assert mine == want
        removed += len(all_) - len(want)
    assert removed > 0  # (the copies were candidates somewhere)


def test_members_of_a_subset_of_the_last_corners_are_theirs():
    # members_of answers the corners it was last asked for, or a subset of them, from that call: the
    # same as members of those corners alone; other corners are computed
    from hdx.cost.analytical.staircase import members_of

    rng = np.random.default_rng(5)
    cells = random_cells(rng)
    glb = np.array([20.0, 45.0, 70.0, 120.0, 400.0])
    pick, fits = first_pick(cells, glb)
    sc = staircase(cells, glb, pick, fits, np.zeros(2, dtype=bool), every_double=True)

    def same(a, b):
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
        for x, y in zip(a[3] + a[4], b[3] + b[4], strict=True):
            assert np.array_equal(x, y)
    every = np.arange(pick.size)
    same(members_of(sc, every), members(sc, every))
    for part in (every[::3], every[5:9], every[:0], np.array([every[-1]])):
        same(members_of(sc, part), members(sc, part))
    assert sc.last[0] is every  # (each of those from the first call)
    other = np.array([1, 4])
    same(members_of(staircase(cells, glb, pick, fits, np.zeros(2, dtype=bool), every_double=True), other),
         members(sc, other))
