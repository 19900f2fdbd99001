// Prefill and decode throughput of llama.cpp (the prebuilt libllama of npm's node-llama-cpp, CPU only) on a
// GGUF file, for the prompts `tinythink bench generate --prompts` reads: every line {"ids": [...]} is one
// sequence of one context, all sequences evaluated together (node-llama-cpp batches concurrent sequences
// into the same llama_decode). Prefill: every prompt but its last token, timed until all are in the KV
// cache. Decode: from each prompt's last token, NEW_TOKENS greedy tokens per sequence (the first of them
// costs one token of prompt, as tinythink's first token comes out of its prefill). Prints one JSON line.
//   node bench_gguf.mjs MODEL.gguf PROMPTS.jsonl NEW_TOKENS [THREADS (default 2)]
// Needs node-llama-cpp under $TT_LLAMA_CPP_MODULES (scripts/llama_cpp_setup.sh).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {pathToFileURL} from "node:url";

function usage(message) {
  console.error(`bench_gguf.mjs: ${message}`);
  console.error("usage: node bench_gguf.mjs MODEL.gguf PROMPTS.jsonl NEW_TOKENS [THREADS]");
  process.exit(2);
}
const [modelPath, promptsPath, newText, threadsText = "2"] = process.argv.slice(2);
if (!modelPath || !promptsPath || !newText) usage("missing arguments");
const newTokens = Number.parseInt(newText, 10), threads = Number.parseInt(threadsText, 10);
if (!(newTokens > 0)) usage(`NEW_TOKENS '${newText}' is not a positive count`);
if (!(threads > 0)) usage(`THREADS '${threadsText}' is not a positive count`);
const prompts = fs.readFileSync(promptsPath, "utf8").split("\n").filter((l) => l.trim() !== "").map((line, i) => {
  const ids = JSON.parse(line).ids;
  if (!Array.isArray(ids) || ids.length < 2) usage(`${promptsPath}:${i + 1}: "ids" needs at least 2 tokens`);
  return ids;
});

const modules = process.env.TT_LLAMA_CPP_MODULES;
if (!modules) usage("TT_LLAMA_CPP_MODULES is not set (the node_modules folder holding node-llama-cpp)");
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(path.join(modules, "node-llama-cpp/dist/index.js")).href);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: threads});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const longest = Math.max(...prompts.map((ids) => ids.length)) + newTokens + 1;
const context = await model.createContext({
  contextSize: longest * prompts.length, sequences: prompts.length, batchSize: Math.min(2048, longest * prompts.length),
  threads: {ideal: threads, min: threads}, flashAttention: false,
});
const sequences = prompts.map(() => context.getSequence());

let t0 = performance.now();
await Promise.all(sequences.map((s, i) => s.evaluateWithoutGeneratingNewTokens(prompts[i].slice(0, -1))));
const prefillS = (performance.now() - t0) / 1000;
const prefillTokens = prompts.reduce((n, ids) => n + ids.length - 1, 0);

t0 = performance.now();
const generated = await Promise.all(sequences.map(async (s, i) => {
  const out = [];
  for await (const token of s.evaluate(prompts[i].slice(-1), {temperature: 0})) {
    out.push(token);
    if (out.length === newTokens) break;
  }
  return out;
}));
const decodeS = (performance.now() - t0) / 1000;
const decoded = generated.reduce((n, g) => n + g.length, 0);

console.log(JSON.stringify({
  impl: "llama.cpp", version: "node-llama-cpp 3.21.1 (llama.cpp 80fb11a), prebuilt linux-x64 CPU",
  model: modelPath, batch: prompts.length, prompt: prompts[0].length, new: newTokens, threads,
  prefill_s: prefillS, prefill_tokens_per_s: prefillTokens / prefillS,
  decode_s: decodeS, decode_tokens_per_s: decoded / decodeS,
  cpu: os.cpus()[0]?.model ?? "unknown",
  greedy_first: generated[0].slice(0, 8),
}));
for (const s of sequences) s.dispose();
await context.dispose();
await model.dispose();
await llama.dispose();
