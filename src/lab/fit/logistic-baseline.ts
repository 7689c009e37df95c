import type { Dataset } from "./dataset.js";
import { sigmoid } from "./metrics.js";

/**
 * The plain baseline the lab reports beside its own model (docs/model-lab.md): logistic
 * regression with an L2 penalty (λ = 1, as scikit-learn's default C = 1), numbers standardised on
 * the training rows (a missing number: 0 and an indicator), categories one-hot: those seen at
 * least `MIN_CATEGORY` times in training, as the points model's bins (the rarer ones, and unseen
 * ones, share a column). Fitted by Newton's method. Pure.
 */

const MIN_CATEGORY = 10;

interface Design {
  columns: number;
  /** Writes row's one (column, value) pair per feature at `at`, in increasing column order. */
  encode: (row: number, cols: Int32Array, vals: Float64Array, at: number) => void;
}

function design(d: Dataset, rows: readonly number[]): Design {
  let columns = 0;
  const encoders: ((row: number) => void)[] = [];
  let col = 0;
  let val = 0;
  for (const feature of d.features) {
    // An event count, uncapped, is a number.
    const f =
      feature.kind === "count"
        ? {
            kind: "numeric" as const,
            values: feature.values[feature.caps.indexOf(null)] as ArrayLike<number | null>,
          }
        : feature;
    if (f.kind === "numeric") {
      let sum = 0;
      let sq = 0;
      let seen = 0;
      for (const r of rows) {
        const v = f.values[r];
        if (v === null || v === undefined) continue;
        sum += v;
        sq += v * v;
        seen++;
      }
      const mean = sum / Math.max(1, seen);
      const sd = Math.sqrt(Math.max(0, sq / Math.max(1, seen) - mean * mean)) || 1;
      const at = columns;
      columns += 2;
      encoders.push((row) => {
        const v = f.values[row];
        if (v === null || v === undefined) [col, val] = [at + 1, 1];
        else [col, val] = [at, (v - mean) / sd];
      });
    } else {
      const seen = new Map<string, number>();
      for (const r of rows) {
        const v = f.values[r];
        if (v !== null && v !== undefined) seen.set(v, (seen.get(v) ?? 0) + 1);
      }
      const index = new Map<string, number>();
      for (const [v, n] of seen) if (n >= MIN_CATEGORY) index.set(v, columns + index.size);
      const other = columns + index.size;
      const missing = other + 1;
      columns += index.size + 2;
      encoders.push((row) => {
        const v = f.values[row];
        [col, val] = [v === null || v === undefined ? missing : (index.get(v) ?? other), 1];
      });
    }
  }
  return {
    columns,
    encode: (row, cols, vals, at) => {
      encoders.forEach((e, j) => {
        e(row);
        cols[at + j] = col;
        vals[at + j] = val;
      });
    },
  };
}

export interface LogisticModel {
  predictLogit: (rows: readonly number[]) => Float64Array;
}

export function fitLogistic(d: Dataset, rows: readonly number[], lambda = 1): LogisticModel {
  const x = design(d, rows);
  const m = d.features.length;
  const cols = new Int32Array(rows.length * m);
  const vals = new Float64Array(rows.length * m);
  rows.forEach((r, i) => {
    x.encode(r, cols, vals, i * m);
  });
  const start = Int32Array.from({ length: rows.length + 1 }, (_, i) => i * m);
  const w = newtonLogistic(
    { start, cols, vals },
    rows.map((r) => d.labels[r] as number),
    x.columns,
    lambda,
  );
  const c = new Int32Array(m);
  const v = new Float64Array(m);
  return {
    predictLogit: (rs) =>
      Float64Array.from(rs, (r) => {
        x.encode(r, c, v, 0);
        let z = w[x.columns] as number;
        for (let k = 0; k < m; k++) z += (w[c[k] as number] as number) * (v[k] as number);
        return z;
      }),
  };
}

/** Rows of (column, value) pairs, packed: row i's pairs are at `start[i]` up to `start[i + 1]`, columns increasing. */
export interface SparseRows {
  start: Int32Array;
  cols: Int32Array;
  vals: Float64Array;
}

/**
 * L2-penalised logistic regression by Newton's method on sparse rows: returns `columns` weights
 * and then the intercept (not penalised).
 */
export function newtonLogistic(
  x: SparseRows,
  labels: readonly number[],
  columns: number,
  lambda: number,
  iterations = 25,
): Float64Array {
  const p = columns + 1;
  const n = labels.length;
  const { start, cols, vals } = x;
  const w = new Float64Array(p);
  const grad = new Float64Array(p);
  const hess = new Float64Array(p * p);
  for (let it = 0; it < iterations; it++) {
    grad.fill(0);
    hess.fill(0);
    for (let i = 0; i < n; i++) {
      const a = start[i] as number;
      const b = start[i + 1] as number;
      let z = w[columns] as number;
      for (let k = a; k < b; k++) z += (w[cols[k] as number] as number) * (vals[k] as number);
      const q = sigmoid(z);
      const err = q - (labels[i] as number);
      const wt = Math.max(q * (1 - q), 1e-9);
      for (let k = a; k < b; k++) {
        const c = cols[k] as number;
        const wv = wt * (vals[k] as number);
        grad[c] = (grad[c] as number) + err * (vals[k] as number);
        // The lower triangle only (a row's columns increase), all that the Cholesky solve reads.
        const rowAt = c * p;
        for (let k2 = a; k2 <= k; k2++) {
          const at = rowAt + (cols[k2] as number);
          hess[at] = (hess[at] as number) + wv * (vals[k2] as number);
        }
        // The intercept's column is the last: below every other.
        const last = columns * p + c;
        hess[last] = (hess[last] as number) + wv;
      }
      grad[columns] = (grad[columns] as number) + err;
      hess[columns * p + columns] = (hess[columns * p + columns] as number) + wt;
    }
    for (let c = 0; c < p - 1; c++) {
      grad[c] = (grad[c] as number) + lambda * (w[c] as number);
      hess[c * p + c] = (hess[c * p + c] as number) + lambda;
    }
    hess[(p - 1) * p + (p - 1)] = (hess[(p - 1) * p + (p - 1)] as number) + 1e-9;
    const step = solve(hess, grad, p);
    let size = 0;
    for (let c = 0; c < p; c++) {
      w[c] = (w[c] as number) - (step[c] as number);
      size = Math.max(size, Math.abs(step[c] as number));
    }
    if (size < 1e-6) break;
  }
  return w;
}

/** Solves A·s = b for a symmetric positive-definite A (Cholesky). */
function solve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j] as number;
      for (let k = 0; k < j; k++) sum -= (l[i * n + k] as number) * (l[j * n + k] as number);
      l[i * n + j] = i === j ? Math.sqrt(Math.max(sum, 1e-12)) : sum / (l[j * n + j] as number);
    }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i] as number;
    for (let k = 0; k < i; k++) sum -= (l[i * n + k] as number) * (y[k] as number);
    y[i] = sum / (l[i * n + i] as number);
  }
  const s = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i] as number;
    for (let k = i + 1; k < n; k++) sum -= (l[k * n + i] as number) * (s[k] as number);
    s[i] = sum / (l[i * n + i] as number);
  }
  return s;
}
