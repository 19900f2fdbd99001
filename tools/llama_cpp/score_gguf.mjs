// Loads a GGUF file with llama.cpp (the prebuilt libllama of npm's node-llama-cpp, CPU only) and,
// for each line {"ids": [...]} of a JSONL file, writes one JSON line: the log-probability llama.cpp
// gives each prompt token after the first, greedy continuation tokens (argmax of the next-token
// distribution, fed back one at a time) and, per greedy step, the gap in log-probability between
// the best and the second-best token.
//   node score_gguf.mjs MODEL.gguf PROMPTS.jsonl OUT.jsonl NEW_TOKENS [--exact]
// --exact: flash attention off and an f32 KV cache (default settings: flash attention auto, f16 cache).
// Needs node-llama-cpp installed under $TT_LLAMA_CPP_MODULES (a node_modules folder; scripts/llama_cpp_setup.sh
// installs it outside the repo).
import fs from "node:fs";
import path from "node:path";
import {pathToFileURL} from "node:url";

function usage(message) {
  console.error(`score_gguf.mjs: ${message}`);
  console.error("usage: node score_gguf.mjs MODEL.gguf PROMPTS.jsonl OUT.jsonl NEW_TOKENS [--exact]");
  process.exit(2);
}

const [modelPath, promptsPath, outPath, newTokensText, ...flags] = process.argv.slice(2);
if (!modelPath || !promptsPath || !outPath || !newTokensText) usage("missing arguments");
const newTokens = Number.parseInt(newTokensText, 10);
if (!(newTokens >= 0)) usage(`NEW_TOKENS '${newTokensText}' is not a count`);
const exact = flags.includes("--exact");

const prompts = fs.readFileSync(promptsPath, "utf8").split("\n").filter((line) => line.trim() !== "")
  .map((line, i) => {
    const parsed = JSON.parse(line);
    if (!Array.isArray(parsed.ids) || parsed.ids.length < 1) usage(`${promptsPath}:${i + 1}: no "ids" list`);
    return parsed.ids;
  });

const modules = process.env.TT_LLAMA_CPP_MODULES;
if (!modules) usage("TT_LLAMA_CPP_MODULES is not set (the node_modules folder holding node-llama-cpp)");
const {getLlama, LlamaLogLevel} = await import(pathToFileURL(path.join(modules, "node-llama-cpp/dist/index.js")).href);
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const model = await llama.loadModel({modelPath, gpuLayers: 0});
const longest = Math.max(...prompts.map((ids) => ids.length)) + newTokens + 1;
const context = await model.createContext({
  contextSize: Math.max(64, longest), batchSize: Math.max(64, longest), sequences: 1, threads: 2,
  ...(exact ? {flashAttention: false, experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32"} : {}),
});

// The best two entries of a probabilities map (sorted best first).
function topTwo(probabilities) {
  const it = probabilities.entries();
  return [it.next().value, it.next().value];
}

const lines = [];
const sequence = context.getSequence();
for (const ids of prompts) {
  await sequence.clearHistory();
  const input = ids.map((token) => [token, {generateNext: {probabilities: true}}]);
  const results = await sequence.controlledEvaluate(input);
  const tokenLogprobs = [];
  for (let i = 0; i + 1 < ids.length; ++i) tokenLogprobs.push(Math.log(results[i].next.probabilities.get(ids[i + 1]) ?? 0));
  const greedy = [], gaps = [];
  let probabilities = results[ids.length - 1].next.probabilities;
  for (let step = 0; step < newTokens; ++step) {
    const [[best, p1], [, p2]] = topTwo(probabilities);
    greedy.push(best);
    gaps.push(Math.log(p1) - Math.log(p2));
    if (step + 1 < newTokens) {
      const [next] = await sequence.controlledEvaluate([[best, {generateNext: {probabilities: true}}]]);
      probabilities = next.next.probabilities;
    }
  }
  lines.push(JSON.stringify({ids, token_logprobs: tokenLogprobs, greedy, greedy_gaps: gaps}));
}
sequence.dispose();
fs.writeFileSync(outPath, lines.join("\n") + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
