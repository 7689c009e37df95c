import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";
import { QualifyError } from "../errors.js";

/**
 * Passwords for the dashboard's login, hashed with scrypt (N = 2^15, r = 8, p = 1, a 16-byte salt,
 * a 32-byte key), stored as `scrypt$N$r$p$salt$key` so that the cost can rise later.
 */
const N = 2 ** 15;
const R = 8;
const P = 1;
const KEY_BYTES = 32;
export const MIN_PASSWORD = 10;

const derive = (password: string, salt: Buffer, o: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { ...o, maxmem: 128 * (o.N ?? N) * (o.r ?? R) * 2 }, (e, key) =>
      e ? reject(e) : resolve(key),
    ),
  );

/** Rejects a password too short to be one, naming the field. */
export function checkPassword(password: string, path = "password"): void {
  if (password.length < MIN_PASSWORD)
    throw new QualifyError("INPUT_INVALID", `the password must have at least ${MIN_PASSWORD} characters`, [
      { path, message: `at least ${MIN_PASSWORD} characters` },
    ]);
}

export async function hashPassword(password: string): Promise<string> {
  checkPassword(password);
  const salt = randomBytes(16);
  const key = await derive(password, salt, { N, r: R, p: P });
  return ["scrypt", N, R, P, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = stored.split("$");
  if (kind !== "scrypt" || !salt || !key) return false;
  const expected = Buffer.from(key, "base64url");
  const got = await derive(password, Buffer.from(salt, "base64url"), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return got.length === expected.length && timingSafeEqual(got, expected);
}
