// The Hub cache tinythink writes is the one an independent Hub client writes for the same answers:
// tools/hub/fake_hub.py on the loopback interface serves a sharded model (written here) and the
// dataset org/chat; `tinythink download` fills one cache, npm's @huggingface/hub (snapshotDownload,
// tools/hub/package.json) another, and the two trees must hold the same paths, kinds, permission bits,
// file bytes and symlink targets (blobs/ETAG, snapshots/COMMIT/PATH -> ../../blobs/ETAG, refs/main).
//
// What only huggingface_hub (Python) writes, and tinythink therefore too (src/io/hub.h), is checked
// on its own and then set aside: CACHEDIR.TAG at the cache root (huggingface_hub >= 1.10, its exact
// text) and .locks/FOLDER/ETAG.lock (empty, mode 0664) for each blob. The other differences of
// @huggingface/hub (refs only in snapshotDownload, a single file's snapshot named after its last commit)
// do not arise here: the snapshots are downloaded whole and the fake repos have one commit.
// Cases: revision main (refs/main holds the commit, no newline) for both repos in one cache; the
// model at its commit hash in fresh caches (no refs/); tinythink downloading again leaves its tree as
// it was.
//
// usage: node hub_cache_layout_test.mjs TINYTHINK_BINARY SOURCE_DIR
// Exit 77 (ctest: skipped) with the reason when @huggingface/hub is not installed (scripts/test.sh runs
// `npm ci` in tools/hub; $TT_HUB_JS_MODULES overrides tools/hub/node_modules) or python3 is missing.
import {execFileSync, spawn, spawnSync} from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import {createRequire} from "node:module";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";

const [tinythink, sourceDir] = process.argv.slice(2);
const modules = process.env.TT_HUB_JS_MODULES || path.join(sourceDir, "tools/hub/node_modules");
const COMMIT = "0123456789abcdef0123456789abcdef01234567";  // fake_hub.py's one commit
const CACHEDIR_TAG =
    "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by huggingface_hub.\n" +
    "# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n";

function skip(reason) {
  console.log(`SKIPPED: ${reason}`);
  process.exit(77);
}
if (!fs.existsSync(path.join(modules, "@huggingface/hub/package.json")))
  skip(`@huggingface/hub is not installed under ${modules} (run: cd tools/hub && npm ci)`);
if (spawnSync("python3", ["--version"]).status !== 0) skip("python3 (for tools/hub/fake_hub.py) is not installed");
const hub = createRequire(path.join(modules, "package.json"))("@huggingface/hub");

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tt-hub-layout-"));

// A sharded model as the Hub holds one: two safetensors shards (LFS), their index, and small json
// files, two of them with the same bytes (one blob, two snapshot links).
function writeModelRepo(dir) {
  fs.mkdirSync(dir, {recursive: true});
  const shard = (seed) => Buffer.concat([Buffer.from('{"__metadata__":{"format":"pt"}}'),
                                         crypto.createHash("sha512").update(seed).digest(), Buffer.alloc(3000, seed.length)]);
  const files = {
    "config.json": '{"model_type": "llama", "hidden_size": 8}\n',
    "generation_config.json": '{"eos_token_id": 2}\n',
    "tokenizer.json": '{"version": "1.0", "model": {"type": "BPE"}}\n',
    "tokenizer_config.json": '{"bos_token": "<s>"}\n',
    "special_tokens_map.json": "{}\n",
    "added_tokens.json": "{}\n",
    "model.safetensors.index.json": '{"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}\n',
    "model-00001-of-00002.safetensors": shard("first"),
    "model-00002-of-00002.safetensors": shard("second shard"),
  };
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
}

async function startFakeHub(args) {
  const server = spawn("python3", [path.join(sourceDir, "tools/hub/fake_hub.py"), ...args],
                       {stdio: ["ignore", "pipe", fs.openSync(path.join(work, "fake_hub.log"), "w")]});
  const lines = readline.createInterface({input: server.stdout});
  const port = await new Promise((resolve, reject) => {
    lines.once("line", (line) => resolve(Number(line)));
    server.once("exit", (code) => reject(new Error(`fake_hub.py exited (${code}); see ${work}/fake_hub.log`)));
  });
  return {server, endpoint: `http://127.0.0.1:${port}`};
}

const fileEntry = (bytes, mode) =>
  `file ${mode.toString(8)} ${Buffer.byteLength(bytes)} ${crypto.createHash("sha256").update(bytes).digest("hex")}`;

// Every entry under `root` as "path kind mode detail": a file's size and sha256, a link's target.
function tree(root) {
  const out = new Map();
  const walk = (dir) => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      const st = fs.lstatSync(full);
      if (st.isSymbolicLink()) {
        out.set(rel, `link ${fs.readlinkSync(full)}`);
      } else if (st.isDirectory()) {
        out.set(rel, `dir ${(st.mode & 0o777).toString(8)}`);
        walk(full);
      } else {
        out.set(rel, fileEntry(fs.readFileSync(full), st.mode & 0o777));
      }
    }
  };
  walk(root);
  return out;
}

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};

// Checks the Python-only entries of tinythink's tree and removes them: CACHEDIR.TAG, and .locks/
// with one empty 0664 lock per blob of each repo folder.
function setAsidePythonOnly(ours, root, label) {
  const tag = fileEntry(CACHEDIR_TAG, 0o666 & ~process.umask());
  check(ours.get("CACHEDIR.TAG") === tag, `${label}: CACHEDIR.TAG is "${ours.get("CACHEDIR.TAG")}", huggingface_hub's "${tag}"`);
  ours.delete("CACHEDIR.TAG");
  for (const rel of ours.keys()) {
    const blob = rel.match(/^([^/]+)\/blobs\/([^/]+)$/);
    if (blob) {
      const lock = `.locks/${blob[1]}/${blob[2]}.lock`;
      check(ours.get(lock) === fileEntry("", 0o664), `${label}: ${lock} should be an empty 0664 file, is ${ours.get(lock)}`);
    }
    const lock = rel.match(/^\.locks\/([^/]+)\/(.+)\.lock$/);
    if (lock) check(ours.has(`${lock[1]}/blobs/${lock[2]}`), `${label}: ${rel} locks no blob`);
  }
  for (const rel of [...ours.keys()])
    if (rel === ".locks" || rel.startsWith(".locks/")) ours.delete(rel);
}

function compareTrees(label, oursRoot, theirsRoot) {
  const ours = tree(oursRoot), theirs = tree(theirsRoot);
  setAsidePythonOnly(ours, oursRoot, label);
  for (const [rel, entry] of theirs)
    check(ours.get(rel) === entry, `${label}: ${rel}: @huggingface/hub has "${entry}", tinythink "${ours.get(rel) ?? "nothing"}"`);
  for (const [rel, entry] of ours)
    check(theirs.has(rel), `${label}: ${rel}: tinythink has "${entry}", @huggingface/hub nothing`);
  return ours;
}

const modelDir = path.join(work, "repo-sharded");
writeModelRepo(modelDir);
const {server, endpoint} = await startFakeHub(["--serve", `models:org/sharded=${modelDir}`]);
try {
  const download = (cache, args) =>
    execFileSync(tinythink, ["download", ...args], {
      env: {...process.env, HF_ENDPOINT: endpoint, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: "", HF_TOKEN: "",
            HF_TOKEN_PATH: path.join(work, "no-token")},
      stdio: ["ignore", "pipe", "pipe"]}).toString().trim();
  const js = (cache, repo, revision) => hub.snapshotDownload({repo, revision, hubUrl: endpoint, cacheDir: cache});
  console.debug = () => {};  // @huggingface/hub logs each download

  // 1. revision main, a model and a dataset in one cache
  const ours = path.join(work, "ours"), theirs = path.join(work, "theirs");
  const oursModel = download(ours, ["org/sharded"]);
  const oursData = download(ours, ["org/chat", "--repo-type", "dataset"]);
  const theirsModel = await js(theirs, "org/sharded");
  const theirsData = await js(theirs, {type: "dataset", name: "org/chat"});
  check(path.relative(ours, oursModel) === path.relative(theirs, theirsModel), `snapshot folders differ: ${oursModel} / ${theirsModel}`);
  check(path.relative(ours, oursData) === path.relative(theirs, theirsData), `snapshot folders differ: ${oursData} / ${theirsData}`);
  const mainTree = compareTrees("revision main", ours, theirs);
  for (const folder of ["models--org--sharded", "datasets--org--chat"])
    check(mainTree.get(`${folder}/refs/main`) === fileEntry(COMMIT, 0o666 & ~process.umask()),
          `${folder}/refs/main should hold the commit without a newline: ${mainTree.get(`${folder}/refs/main`)}`);
  const links = [...mainTree].filter(([, e]) => e.startsWith("link ")).length;
  check(links === 9 + 3, `expected 12 snapshot links (9 model files, 3 dataset files), found ${links}`);
  check(mainTree.get("datasets--org--chat/snapshots/" + COMMIT + "/data/train-00000-of-00001.parquet")?.startsWith("link ../../../blobs/"),
        "a file in a sub-folder links one more ../ up");

  // 2. downloading again changes nothing
  const before = [...tree(ours)].join("\n");
  download(ours, ["org/sharded"]);
  download(ours, ["org/chat", "--repo-type", "dataset"]);
  check([...tree(ours)].join("\n") === before, "a second `tinythink download` changed the cache tree");

  // 3. a commit hash as the revision: no refs/
  const oursPinned = path.join(work, "ours-pinned"), theirsPinned = path.join(work, "theirs-pinned");
  download(oursPinned, ["org/sharded", "--revision", COMMIT]);
  await js(theirsPinned, "org/sharded", COMMIT);
  const pinnedTree = compareTrees("revision = commit", oursPinned, theirsPinned);
  check(![...pinnedTree.keys()].some((rel) => rel.includes("/refs")), "a commit revision wrote refs/");
} finally {
  server.kill();
}

if (failures.length) {
  console.error(`FAILED: ${failures.length} difference(s) between tinythink's Hub cache and @huggingface/hub's:\n  ` +
                failures.join("\n  "));
  process.exit(1);
}
fs.rmSync(work, {recursive: true, force: true});
console.log("PASSED: tinythink's Hub cache trees equal @huggingface/hub's (revision main, commit revision), plus " +
            "huggingface_hub's CACHEDIR.TAG and .locks");
