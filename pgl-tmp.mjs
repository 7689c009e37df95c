import { PGlite } from "@electric-sql/pglite";

let t = performance.now();
const db = await PGlite.create();
console.log("create mem", (performance.now() - t).toFixed(0));
await db.exec("create table w(id text primary key)");
t = performance.now();
const dump = await db.dumpDataDir("none");
console.log("dump", (performance.now() - t).toFixed(0), dump.size);
t = performance.now();
const db2 = await PGlite.create({ loadDataDir: dump });
console.log("load", (performance.now() - t).toFixed(0), (await db2.query("select count(*) from w")).rows);
