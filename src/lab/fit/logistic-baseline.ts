import type { Dataset } from "./dataset.js";
import { sigmoid } from "./metrics.js";

/**
 * The plain baseline the lab reports beside its own model (docs/model-lab.md): logistic
 * regression with an L2 penalty (λ = 1, as scikit-learn's default C = 1), numbers standardised on
 * the training rows (a missing number: 0 and an indicator), categories one-hot (those seen in
 * training; an unseen one: all zeros). Fitted by Newton's method. Pure.
 */

interface Design {
  columns: number;
  /** Per row, its features as (column, value) pairs. */
  encode: (row: number) => [number, number][];
}

function design(d: Dataset, rows: readonly number[]): Design {
  let columns = 0;
  const encoders: ((row: number, out: [number, number][]) => void)[] = [];
  for (const f of d.features) {
    if (f.kind === "numeric") {
      const xs = rows.map((r) => f.values[r]).filter((v): v is number => v !== null && v !== undefined);
      const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
      const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length)) || 1;
      const col = columns;
      columns += 2;
      encoders.push((row, out) => {
        const v = f.values[row];
        if (v === null || v === undefined) out.push([col + 1, 1]);
        else out.push([col, (v - mean) / sd]);
      });
    } else {
      const index = new Map<string, number>();
      for (const r of rows) {
        const v = f.values[r];
        if (v !== null && v !== undefined && !index.has(v)) index.set(v, columns + index.size);
      }
      const missing = columns + index.size;
      columns += index.size + 1;
      encoders.push((row, out) => {
        const v = f.values[row];
        const c = v === null || v === undefined ? missing : index.get(v);
        if (c !== undefined) out.push([c, 1]);
      });
    }
  }
  return {
    columns,
    encode: (row) => {
      const out: [number, number][] = [];
      for (const e of encoders) e(row, out);
      return out;
    },
  };
}

export interface LogisticModel {
  predictLogit: (rows: readonly number[]) => Float64Array;
}

export function fitLogistic(d: Dataset, rows: readonly number[], lambda = 1): LogisticModel {
  const x = design(d, rows);
  const w = newtonLogistic(
    rows.map((r) => x.encode(r)),
    rows.map((r) => d.labels[r] as number),
    x.columns,
    lambda,
  );
  return {
    predictLogit: (rs) =>
      Float64Array.from(rs, (r) => {
        let z = w[x.columns] as number;
        for (const [c, v] of x.encode(r)) z += (w[c] as number) * v;
        return z;
      }),
  };
}

/**
 * L2-penalised logistic regression by Newton's method on sparse rows of (column, value) pairs:
 * returns `columns` weights and then the intercept (not penalised).
 */
export function newtonLogistic(
  rows: readonly [number, number][][],
  labels: readonly number[],
  columns: number,
  lambda: number,
  iterations = 25,
): Float64Array {
  const p = columns + 1;
  const encoded = rows.map((xs) => [...xs, [columns, 1] as [number, number]]);
  const w = new Float64Array(p);
  for (let it = 0; it < iterations; it++) {
    const grad = new Float64Array(p);
    const hess = new Float64Array(p * p);
    encoded.forEach((xs, i) => {
      let z = 0;
      for (const [c, v] of xs) z += (w[c] as number) * v;
      const q = sigmoid(z);
      const err = q - (labels[i] as number);
      const wt = Math.max(q * (1 - q), 1e-9);
      for (const [c, v] of xs) {
        grad[c] = (grad[c] as number) + err * v;
        // The lower triangle only (a row's columns increase), all that the Cholesky solve reads.
        for (const [c2, v2] of xs) if (c2 <= c) hess[c * p + c2] = (hess[c * p + c2] as number) + wt * v * v2;
      }
    });
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
