import { Random } from "../../analytics/random.js";
import { sigmoid } from "./metrics.js";

/**
 * An additive model learnt by cyclic gradient boosting of shallow per-feature functions, in the
 * manner of an explainable boosting machine (docs/model-lab.md). Pure.
 *
 * The log-odds of a lead is `intercept + Σ shape_j[bin_j]`: one table of points per feature, so
 * each point is readable. Boosting visits the features in turn; at each visit it fits the
 * logistic loss's gradient with a split of that feature's bins into at most three pieces (ordered
 * bins for numbers; categories ordered by their gradient ratio), shrunk by the learning rate.
 * A slice of the training rows is held back to stop when the loss there stops falling; several
 * such bags with different slices are averaged, which smooths the shapes.
 *
 * Linear terms (event counts) get a slope instead of a shape: points per event. At each visit the
 * slope takes a shrunk Newton step; a term marked non-negative (a capped count, since the engine
 * caps positive points only) never goes below 0.
 */

export interface BoostOptions {
  learningRate: number;
  maxRounds: number;
  /** Rounds without improvement on the held-back slice before stopping. */
  patience: number;
  /** L2 on each piece's update (in units of the Hessian, i.e. leads). */
  l2: number;
  /** Fewest leads in a piece. */
  minLeaves: number;
  bags: number;
  /** Share of training rows held back in each bag. */
  holdout: number;
  seed: number;
}

export const DEFAULT_BOOST: BoostOptions = {
  learningRate: 0.05,
  maxRounds: 1_000,
  patience: 50,
  l2: 10,
  minLeaves: 20,
  bags: 8,
  holdout: 0.15,
  seed: 1,
};

export interface AdditiveModel {
  intercept: number;
  /** Per binned feature, the log-odds of each bin. */
  shapes: Float64Array[];
  /** Per linear term, the log-odds per unit. */
  slopes: Float64Array;
}

/**
 * One binned column per binned feature (values are bin numbers), with each one's bin count and
 * kind; and one column of values per linear term, with whether its slope must stay ≥ 0.
 */
export interface BinnedColumns {
  bins: Uint16Array[];
  sizes: number[];
  ordered: boolean[];
  linear: Float64Array[];
  nonNegative: boolean[];
}

export function fitBoostedAdditive(
  x: BinnedColumns,
  rows: readonly number[],
  labels: ArrayLike<number>,
  o: BoostOptions = DEFAULT_BOOST,
): AdditiveModel {
  const rng = new Random(o.seed);
  const shapes = x.sizes.map((n) => new Float64Array(n));
  const slopes = new Float64Array(x.linear.length);
  let intercept = 0;
  // Bags steady the shapes of small samples; a large one needs fewer (at least 2).
  const bags = Math.max(2, Math.min(o.bags, Math.round((o.bags * 20_000) / rows.length)));
  for (let b = 0; b < bags; b++) {
    const train: number[] = [];
    const held: number[] = [];
    for (const r of rows) (rng.next() < o.holdout ? held : train).push(r);
    const bag = boostOnce(x, train, held, labels, o);
    intercept += bag.intercept / bags;
    bag.slopes.forEach((v, j) => {
      slopes[j] = (slopes[j] as number) + v / bags;
    });
    bag.shapes.forEach((s, j) => {
      const out = shapes[j] as Float64Array;
      for (let k = 0; k < s.length; k++) out[k] = (out[k] as number) + (s[k] as number) / bags;
    });
  }
  return center({ intercept, shapes, slopes }, x, rows);
}

/** The log-odds of each of these rows. */
export function predictLogit(m: AdditiveModel, x: BinnedColumns, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length).fill(m.intercept);
  m.shapes.forEach((s, j) => {
    const col = x.bins[j] as Uint16Array;
    rows.forEach((r, i) => {
      out[i] = (out[i] as number) + (s[col[r] as number] as number);
    });
  });
  m.slopes.forEach((slope, j) => {
    const col = x.linear[j] as Float64Array;
    rows.forEach((r, i) => {
      out[i] = (out[i] as number) + slope * (col[r] as number);
    });
  });
  return out;
}

/**
 * Shifts each shape to a mean of 0 over the training rows, into the intercept (same predictions).
 * Slopes stay: no event, no points.
 */
function center(m: AdditiveModel, x: BinnedColumns, rows: readonly number[]): AdditiveModel {
  let intercept = m.intercept;
  const shapes = m.shapes.map((s, j) => {
    const col = x.bins[j] as Uint16Array;
    let mean = 0;
    for (const r of rows) mean += s[col[r] as number] as number;
    mean /= rows.length;
    intercept += mean;
    return s.map((v) => v - mean);
  });
  return { intercept, shapes, slopes: m.slopes };
}

/** A linear term's nonzero values in a bag: their positions among the bag's rows, and the values. */
interface Sparse {
  at: Int32Array;
  v: Float64Array;
}

/**
 * A bag's rows, gathered: each binned feature's bins, each linear term's nonzero values, and the
 * labels, for the training and held-back rows.
 */
interface Gathered {
  cols: Uint16Array[];
  lin: Sparse[];
  y: Float64Array;
}

function sparse(col: Float64Array, rows: readonly number[]): Sparse {
  const at: number[] = [];
  rows.forEach((r, i) => {
    if (col[r] !== 0) at.push(i);
  });
  return { at: Int32Array.from(at), v: Float64Array.from(at, (i) => col[rows[i] as number] as number) };
}

const gather = (x: BinnedColumns, rows: readonly number[], labels: ArrayLike<number>): Gathered => ({
  cols: x.bins.map((col) => Uint16Array.from(rows, (r) => col[r] as number)),
  lin: x.linear.map((col) => sparse(col, rows)),
  y: Float64Array.from(rows, (r) => labels[r] as number),
});

function boostOnce(
  x: BinnedColumns,
  trainRows: readonly number[],
  heldRows: readonly number[],
  labels: ArrayLike<number>,
  o: BoostOptions,
): AdditiveModel {
  const train = gather(x, trainRows, labels);
  const held = gather(x, heldRows, labels);
  const n = train.y.length;
  const pos = train.y.reduce((a, b) => a + b, 0);
  const rate = Math.min(Math.max(pos / n, 1e-6), 1 - 1e-6);
  const intercept = Math.log(rate / (1 - rate));
  const shapes = x.sizes.map((k) => new Float64Array(k));
  const best = x.sizes.map((k) => new Float64Array(k));
  const slopes = new Float64Array(x.linear.length);
  const bestSlopes = new Float64Array(x.linear.length);
  // Leads per bin never change within a bag.
  const counts = x.sizes.map((k, j) => {
    const c = new Float64Array(k);
    const col = train.cols[j] as Uint16Array;
    for (let i = 0; i < n; i++) c[col[i] as number] = (c[col[i] as number] as number) + 1;
    return c;
  });
  const margin = new Float64Array(n).fill(intercept);
  const heldMargin = new Float64Array(held.y.length).fill(intercept);
  let bestLoss = logLoss(heldMargin, held.y);
  let sinceBest = 0;
  const g = new Float64Array(n);
  const h = new Float64Array(n);
  for (let round = 0; round < o.maxRounds && sinceBest < o.patience; round++) {
    // The gradient once per round: every feature of the round fits it (cheaper by the number of
    // features, and with a small learning rate as good as refreshing it after each feature).
    for (let i = 0; i < n; i++) {
      const p = sigmoid(margin[i] as number);
      g[i] = p - (train.y[i] as number);
      h[i] = Math.max(p * (1 - p), 1e-6);
    }
    for (let j = 0; j < x.sizes.length; j++) {
      const col = train.cols[j] as Uint16Array;
      const update = splitUpdate(col, counts[j] as Float64Array, x.ordered[j] === true, g, h, o);
      if (update === null) continue;
      const shape = shapes[j] as Float64Array;
      for (let k = 0; k < shape.length; k++) shape[k] = (shape[k] as number) + (update[k] as number);
      for (let i = 0; i < n; i++) margin[i] = (margin[i] as number) + (update[col[i] as number] as number);
      const hc = held.cols[j] as Uint16Array;
      for (let i = 0; i < hc.length; i++)
        heldMargin[i] = (heldMargin[i] as number) + (update[hc[i] as number] as number);
    }
    for (let j = 0; j < x.linear.length; j++) {
      const { at, v } = train.lin[j] as Sparse;
      let G = 0;
      let H = 0;
      for (let k = 0; k < at.length; k++) {
        const i = at[k] as number;
        const vk = v[k] as number;
        G += (g[i] as number) * vk;
        H += (h[i] as number) * vk * vk;
      }
      if (H === 0) continue;
      let next = (slopes[j] as number) - (o.learningRate * G) / (H + o.l2);
      if (x.nonNegative[j] && next < 0) next = 0;
      const d = next - (slopes[j] as number);
      if (d === 0) continue;
      slopes[j] = next;
      for (let k = 0; k < at.length; k++) {
        const i = at[k] as number;
        margin[i] = (margin[i] as number) + d * (v[k] as number);
      }
      const back = held.lin[j] as Sparse;
      for (let k = 0; k < back.at.length; k++) {
        const i = back.at[k] as number;
        heldMargin[i] = (heldMargin[i] as number) + d * (back.v[k] as number);
      }
    }
    const loss = held.y.length > 0 ? logLoss(heldMargin, held.y) : -round;
    if (loss < bestLoss - 1e-9) {
      bestLoss = loss;
      sinceBest = 0;
      for (const [j, s] of shapes.entries()) (best[j] as Float64Array).set(s);
      bestSlopes.set(slopes);
    } else sinceBest++;
  }
  return { intercept, shapes: best, slopes: bestSlopes };
}

function logLoss(margin: Float64Array, y: Float64Array): number {
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const z = margin[i] as number;
    // log(1 + e^z) − y·z, stable for large |z|.
    sum += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - (y[i] as number) * z;
  }
  return y.length > 0 ? sum / y.length : 0;
}

/**
 * The best split of a feature's bins into at most three pieces, each with at least `minLeaves`
 * leads, and each piece's shrunk Newton step; null when no split gains.
 */
function splitUpdate(
  col: Uint16Array,
  C: Float64Array,
  ordered: boolean,
  g: Float64Array,
  h: Float64Array,
  o: BoostOptions,
): Float64Array | null {
  const n = C.length;
  const G = new Float64Array(n);
  const H = new Float64Array(n);
  for (let i = 0; i < col.length; i++) {
    const b = col[i] as number;
    G[b] = (G[b] as number) + (g[i] as number);
    H[b] = (H[b] as number) + (h[i] as number);
  }
  // The order pieces are cut in: numbers keep theirs (missing last); categories by G/H.
  const order = Array.from({ length: n }, (_, b) => b).filter((b) => (C[b] as number) > 0);
  if (!ordered)
    order.sort((a, b) => (G[a] as number) / (H[a] as number) - (G[b] as number) / (H[b] as number));
  const m = order.length;
  if (m < 2) return null;
  const cg = new Float64Array(m + 1);
  const ch = new Float64Array(m + 1);
  const cc = new Float64Array(m + 1);
  order.forEach((b, k) => {
    cg[k + 1] = (cg[k] as number) + (G[b] as number);
    ch[k + 1] = (ch[k] as number) + (H[b] as number);
    cc[k + 1] = (cc[k] as number) + (C[b] as number);
  });
  const score = (a: number, b: number) => {
    const gg = (cg[b] as number) - (cg[a] as number);
    return (gg * gg) / ((ch[b] as number) - (ch[a] as number) + o.l2);
  };
  const count = (a: number, b: number) => (cc[b] as number) - (cc[a] as number);
  // Greedy, as a tree of three leaves: the best cut, then the best second cut on either side.
  const bestCut = (from: number, to: number): { at: number; gain: number } => {
    let at = -1;
    let gain = 0;
    for (let k = from + 1; k < to; k++) {
      if (count(from, k) < o.minLeaves || count(k, to) < o.minLeaves) continue;
      const gk = score(from, k) + score(k, to) - score(from, to);
      if (gk > gain) {
        gain = gk;
        at = k;
      }
    }
    return { at, gain };
  };
  const first = bestCut(0, m);
  if (first.at < 0) return null;
  const left = bestCut(0, first.at);
  const right = bestCut(first.at, m);
  const second = left.gain >= right.gain ? left : right;
  const cuts = second.at < 0 ? [first.at] : [first.at, second.at].sort((a, b) => a - b);
  const update = new Float64Array(n);
  const edges = [0, ...cuts, m];
  for (let p = 0; p + 1 < edges.length; p++) {
    const a = edges[p] as number;
    const b = edges[p + 1] as number;
    const step =
      (-o.learningRate * ((cg[b] as number) - (cg[a] as number))) /
      ((ch[b] as number) - (ch[a] as number) + o.l2);
    for (let k = a; k < b; k++) update[order[k] as number] = step;
  }
  return update;
}
