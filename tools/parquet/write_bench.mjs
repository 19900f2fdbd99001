// Writes a large parquet file of chat rows for the reader's memory and speed check, with DuckDB's
// default writer options (snappy, 122,880-row groups, its own page sizes), the way Hub datasets
// exported from DuckDB look:
//   cd tools/parquet && npm ci && node write_bench.mjs OUT.parquet [SIZE_MB (default 1024)]
// Rows: id, messages list<struct<role, content>> of 2-6 turns whose contents are 50-700 words drawn
// by hash from a fixed vocabulary (text that compresses like prose, about 2x with snappy), source.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';

const out = process.argv[2];
const sizeMb = Number(process.argv[3] ?? 1024);
if (!out || !(sizeMb > 0)) throw new Error('usage: node write_bench.mjs OUT.parquet [SIZE_MB]');
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const con = await db.connect();
const words = ['the', 'of', 'and', 'to', 'in', 'is', 'that', 'for', 'it', 'as', 'with', 'was', 'on', 'be', 'by',
  'this', 'are', 'from', 'or', 'an', 'which', 'we', 'at', 'equation', 'solve', 'therefore', 'value', 'function',
  'integral', 'derivative', 'prime', 'number', 'answer', 'step', 'first', 'second', 'then', 'so', 'let', 'x', 'y',
  'n', '=', '+', '2', '3', '10', '\\frac{1}{2}', 'probability', 'energy', 'molecule', 'force', 'mass', 'velocity',
  'think', 'check', 'because', 'since', 'hence', 'total', 'sum', 'product', 'matrix', 'vector'];
const vocabulary = `[${words.map((w) => `'${w.replace(/'/g, "''")}'`).join(', ')}]`;
// About 2.7 kB of parquet per row (measured on a 9k-row sample), so the row count follows the size.
// 8192 texts are drawn by hash once (a word by hash per row would take minutes per GB); each turn
// takes one of them with the row and turn numbers appended, so no two contents are equal and
// DuckDB falls back from a dictionary to PLAIN strings as it does on real chat data.
const rows = Math.round((sizeMb * 1024 * 1024) / 2700);
await con.run(`
CREATE TABLE texts AS SELECT t AS k, array_to_string(list_transform(range((50 + hash(t) % 650)::BIGINT),
  w -> ${vocabulary}[(1 + hash(t, w) % ${words.length})::BIGINT]), ' ') AS text FROM range(8192) r(t)`);
await con.run(`
COPY (SELECT
  i AS id,
  list({'role': CASE WHEN j % 2 = 0 THEN 'user' ELSE 'assistant' END,
        'content': text || ' (' || i || '.' || j || ')'} ORDER BY j) AS messages,
  'source' || (i % 7) AS source
FROM (SELECT i, unnest(range(2 + i % 5)) AS j FROM range(${rows}) t(i)) turns
JOIN texts ON texts.k = hash(i, j) % 8192
GROUP BY i ORDER BY i) TO '${out}' (FORMAT parquet)`);
console.log(`wrote ${out}: ${rows} rows, ${(fs.statSync(out).size / 1048576).toFixed(1)} MB`);
