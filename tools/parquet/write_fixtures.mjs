// Writes the parquet reader's test fixtures with DuckDB, a parquet writer independent of tinythink:
//   cd tools/parquet && npm ci && node write_fixtures.mjs ../../tests/fixtures/parquet
// Beside the chat_*.parquet files it writes chat.jsonl, the same rows read back by DuckDB from each
// of them and exported as JSON Lines (checked identical for every file: the expected rows), and
// row_groups.jsonl likewise for row_groups_*.parquet; manifest.json lists each file's writer options
// and the encodings / codecs DuckDB reports for it (parquet_metadata), so the tests can check that
// every encoding, codec and page version is covered.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

const out = path.resolve(process.argv[2] ?? 'fixtures');
fs.mkdirSync(out, { recursive: true });
const db = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await db.connect();

// Every kind of value a Hub chat dataset holds: a chat list<struct<role, content>> with empty and
// null lists, null elements and null fields; strings (unicode, long ones spanning pages), ints,
// floats, doubles, bools, nulls, a list of strings, a list of lists, a struct and a map.
await con.run(`
CREATE TABLE chat (
  id BIGINT NOT NULL,
  messages STRUCT(role VARCHAR, content VARCHAR)[],
  source VARCHAR,
  score DOUBLE,
  flag BOOLEAN,
  n INTEGER,
  f FLOAT,
  tags VARCHAR[],
  grid INTEGER[][],
  meta STRUCT(a INTEGER, b VARCHAR),
  attrs MAP(VARCHAR, INTEGER)
)`);
const chatRows = (count) => `
INSERT INTO chat SELECT
  i,
  CASE WHEN i % 17 = 16 THEN NULL ELSE list_transform(range(i % 5), j ->
    CASE WHEN (i + j) % 23 = 22 THEN NULL ELSE {
      'role': CASE WHEN j = 0 AND i % 3 = 0 THEN 'system' WHEN j % 2 = 0 THEN 'user' ELSE 'assistant' END,
      'content': CASE WHEN (i + j) % 11 = 10 THEN NULL
                      WHEN i % 50 = 7 THEN repeat('long turn ' || i || ' ', 300)
                      ELSE 'row ' || i || ' turn ' || j || ': ' || repeat('é✓ ', (i * j) % 13) END} END) END,
  CASE WHEN i % 3 = 0 THEN NULL ELSE 'src' || (i % 4) END,
  CASE WHEN i % 5 = 0 THEN NULL ELSE i / 4.0 - 7 END,
  CASE WHEN i % 7 = 0 THEN NULL ELSE i % 2 = 0 END,
  (i * 37 % 1000 - 500)::INTEGER,
  ((i % 8) * 0.25 - 1.0)::FLOAT,
  CASE i % 6 WHEN 0 THEN NULL WHEN 1 THEN [] ELSE list_transform(range(i % 6), k -> CASE WHEN k = 2 THEN NULL ELSE 't' || k END) END,
  list_transform(range(i % 4), a -> CASE WHEN a = 2 THEN NULL ELSE list_transform(range(a), b -> (a * 10 + b)::INTEGER) END),
  CASE WHEN i % 9 = 0 THEN NULL ELSE {'a': i::INTEGER, 'b': CASE WHEN i % 2 = 0 THEN NULL ELSE 'b' || i END} END,
  CASE WHEN i % 4 = 0 THEN NULL ELSE MAP(['k1', 'k2'], [i::INTEGER, (i * 2)::INTEGER]) END
FROM range(${count}) t(i)`;

const manifest = {};
async function write(name, table, options, expected) {
  const file = path.join(out, `${name}.parquet`);
  await con.run(`COPY ${table} TO '${file}' (FORMAT parquet, ${options})`);
  const jsonl = path.join(out, `${expected}.jsonl`);
  const exported = path.join(out, `${name}.jsonl.tmp`);
  await con.run(`COPY (SELECT * FROM read_parquet('${file}')) TO '${exported}' (FORMAT json)`);
  if (!fs.existsSync(jsonl)) fs.renameSync(exported, jsonl);
  else if (fs.readFileSync(jsonl, 'utf8') !== fs.readFileSync(exported, 'utf8')) throw new Error(`${name}: rows differ from ${jsonl}`);
  else fs.unlinkSync(exported);
  const meta = await con.runAndReadAll(`SELECT DISTINCT row_group_id, encodings, compression FROM parquet_metadata('${file}')`);
  const rows = meta.getRowObjectsJson();
  manifest[name] = {
    options,
    expected: `${expected}.jsonl`,
    row_groups: new Set(rows.map((r) => r.row_group_id)).size,
    encodings: [...new Set(rows.flatMap((r) => String(r.encodings).split(',').map((e) => e.trim())))].sort(),
    codecs: [...new Set(rows.map((r) => r.compression))].sort(),
  };
}

for (const stale of fs.readdirSync(out).filter((f) => f.endsWith('.jsonl'))) fs.unlinkSync(path.join(out, stale));
await con.run(chatRows(200));
for (const version of ['V1', 'V2'])
  for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd'])
    await write(`chat_${version.toLowerCase()}_${codec}`, 'chat', `COMPRESSION ${codec}, PARQUET_VERSION ${version}`, 'chat');
// no dictionaries: PLAIN strings (V1) and DELTA_LENGTH_BYTE_ARRAY (V2)
await write('chat_v1_plain', 'chat', 'COMPRESSION snappy, PARQUET_VERSION V1, DICTIONARY_SIZE_LIMIT 1', 'chat');
await write('chat_v2_plain', 'chat', 'COMPRESSION zstd, PARQUET_VERSION V2, DICTIONARY_SIZE_LIMIT 1', 'chat');
// several row groups (DuckDB's smallest row group is 2048 rows)
await write('row_groups_v1_zstd',
  `(SELECT i AS id, list_transform(range(i % 3), j -> {'role': 'user', 'content': 'r' || i}) AS messages,
           CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END AS flag FROM range(4500) t(i))`,
  'COMPRESSION zstd, ROW_GROUP_SIZE 2048', 'row_groups');
// pre-tokenized preference pairs (DPO input): lists of ints, PLAIN and DELTA encoded
await write('pairs_ids_v2_zstd',
  `(SELECT list_transform(range(1 + i % 4), k -> (5 + k)::INTEGER) AS prompt_ids,
           list_transform(range(1 + i % 3), k -> (100 + i + k)::INTEGER) || [2] AS chosen_ids,
           list_transform(range(1 + i % 2), k -> (200 + i * 3 + k)::INTEGER) || [2] AS rejected_ids
    FROM range(40) t(i))`,
  'COMPRESSION zstd, PARQUET_VERSION V2', 'pairs_ids');
// stand-ins for the study's Hub datasets (tests/study_hub_test.cpp serves them from a fake Hub):
// Shekswess/tiny-think-sft-math-n-stem (messages) and tiny-think-dpo-math-n-stem (chosen / rejected
// conversations), a few arithmetic rows each in the study's chat shape
const turn = (role, content) => `{'role': '${role}', 'content': ${content}}`;
const question = `'What is ' || i || ' + ' || (i + 3) || '?'`;
const answer = (sum) => `'<think>\nAdd them.\n</think>\nThe answer is \\boxed{' || (${sum}) || '}.'`;
await write('tiny_think_sft',
  `(SELECT [${turn('user', question)}, ${turn('assistant', answer('2 * i + 3'))}] AS messages,
           'math' AS source FROM range(16) t(i))`,
  'COMPRESSION snappy', 'tiny_think_sft');
await write('tiny_think_dpo',
  `(SELECT [${turn('user', question)}, ${turn('assistant', answer('2 * i + 3'))}] AS chosen,
           [${turn('user', question)}, ${turn('assistant', answer('2 * i + 4'))}] AS rejected FROM range(16) t(i))`,
  'COMPRESSION snappy', 'tiny_think_dpo');
// an evaluation set as lm-eval loads it from the Hub (HuggingFaceH4/MATH-500's columns), for eval --data
await write('math500_test',
  `(SELECT * FROM (VALUES
     ('What is $1+1$?', 'Add: $1+1=2$.', '2', 'Prealgebra', 1, 'test/prealgebra/1.json'),
     ('Simplify $\\frac{6}{8}$.', 'Divide by 2: $\\frac{3}{4}$.', '\\frac{3}{4}', 'Algebra', 2, 'test/algebra/2.json'),
     ('Find $x$ if $2x = 10$ (é✓).', '$x = 5$.', '5', 'Algebra', 1, 'test/algebra/3.json'))
    AS t(problem, solution, answer, subject, level, unique_id))`,
  'COMPRESSION zstd', 'math500_test');
// Evaluation sets as lm-eval loads them from the Hub, in the Hub's layout (CONFIG/SPLIT-00000-of-00001.*)
// under hub/, for eval --data FOLDER / FILE: the first rows of the data root's own export
// (../shared/data, or $TINYTHINK_SHARED/data) in the Hub datasets' columns: cais/mmlu (question,
// subject, choices, answer), allenai/ai2_arc (id, question, choices {text, label}, answerKey),
// SaylorTwift/bbh (input, target; written as JSON Lines); plus one file of two MMLU subjects (the
// dataset's "all" config) and one without the answer column (a bad input).
const shared = path.resolve(process.env.TINYTHINK_SHARED ?? path.join(path.dirname(new URL(import.meta.url).pathname), '../../../shared'));
async function writeHub(rel, table, format = 'parquet, COMPRESSION zstd') {
  const file = path.join(out, 'hub', rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await con.run(`COPY ${table} TO '${file}' (FORMAT ${format})`);
}
const mmlu = (subject, split, limit, columns = 'question, subject, choices, answer') => `(SELECT ${columns} FROM (
  SELECT question, '${subject}' AS subject, [choice0, choice1, choice2, choice3] AS choices, answer::BIGINT AS answer
  FROM read_csv('${shared}/data/mmlu_stem/${split}/${subject}_${split}.csv', header = true, all_varchar = true,
                delim = ',', quote = '"', escape = '"') LIMIT ${limit}))`;
fs.rmSync(path.join(out, 'hub'), { recursive: true, force: true });
await writeHub('cais_mmlu/abstract_algebra/test-00000-of-00001.parquet', mmlu('abstract_algebra', 'test', 20));
await writeHub('cais_mmlu/abstract_algebra/dev-00000-of-00001.parquet', mmlu('abstract_algebra', 'dev', 5));
await writeHub('mmlu_all_test.parquet', `(${mmlu('abstract_algebra', 'test', 6)} UNION ALL ${mmlu('anatomy', 'test', 4)})`);
await writeHub('mmlu_missing_answer.parquet', mmlu('abstract_algebra', 'test', 3, 'question, subject, choices'));
const arc = (file, limit) => `(SELECT id, question.stem AS question,
    {'text': list_transform(question.choices, c -> c.text), 'label': list_transform(question.choices, c -> c.label)} AS choices,
    answerKey FROM read_json('${shared}/data/arc/${file}', format = 'newline_delimited') LIMIT ${limit})`;
await writeHub('allenai_ai2_arc/ARC-Challenge/test-00000-of-00001.parquet', arc('ARC-Challenge-Test.jsonl', 20));
await writeHub('allenai_ai2_arc/ARC-Challenge/train-00000-of-00001.parquet', arc('ARC-Challenge-Train.jsonl', 30));
await writeHub('saylortwift_bbh/boolean_expressions/test-00000-of-00001.jsonl',
  `(SELECT unnest(examples, recursive := true) FROM read_json('${shared}/data/bbh/bbh/boolean_expressions.json') LIMIT 20)`, 'json');
fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`wrote ${Object.keys(manifest).length} fixtures to ${out}`);
