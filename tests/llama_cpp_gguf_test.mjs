// llama.cpp itself loads what `tinythink export --format gguf` writes: a random Llama checkpoint
// (tests/fixtures/gguf_llama/config.json, Llama-3 tokenizer of ../shared/data/fixtures/gguf/llama-tiny)
// is exported as f32, f16, bf16 and q8_0 GGUF, a random dense llama4_text one (tests/fixtures/gguf_llama4,
// written as llama.cpp's qwen3) as f32 and bf16, a Llama with llama3 RoPE scaling (tests/fixtures/
// gguf_llama_rope: llama.cpp's rope_freqs.weight) as f32, each file is run by the prebuilt libllama of npm's
// node-llama-cpp (tools/llama_cpp/score_gguf.mjs: flash attention off, f32 KV cache), and its per-token
// log-probabilities and greedy tokens are compared with `tinythink score` and `tinythink generate` on
// the checkpoint. The chat template stored in each model's f32 file (tokenizer.chat_template, read back
// by node-llama-cpp's GGUF reader, bos_token from tokenizer.ggml.tokens) is rendered by the Jinja engine
// node-llama-cpp ships (@huggingface/jinja, an independent implementation) and must give the same text
// as `tinythink chat-template` on the checkpoint, for conversations with and without a system message.
//
// The checkpoint is initialised in bf16 (std 1.0: peaked next-token distributions), so the f32, f16
// and bf16 files hold the same weights; what differs is llama.cpp's arithmetic (its f16/bf16 matmuls
// round the activations to the weight type, q8_0 rounds weights and activations to 8 bits). Bounds:
//   f32   |d logprob| <= 1e-3, greedy tokens identical
//   f16   |d logprob| <= 0.05, greedy tokens identical
//   bf16  |d logprob| <= 0.5,  greedy tokens identical      (log-probs here are -25..-45: 0.5 is ~1%)
//   q8_0  |d logprob| <= 10% of |logprob|; greedy tokens identical up to the first step where
//         llama.cpp's best two tokens are within 0.5 nats (past a near-tie the paths may part).
// Measured on the 2-vCPU Xeon (Ice Lake): f32 3.1e-5, f16 0.014, bf16 0.17, q8_0 7.3%.
//
// usage: node llama_cpp_gguf_test.mjs TINYTHINK_BINARY SOURCE_DIR
// Exit 77 (ctest: skipped) with the reason when node-llama-cpp is not installed: scripts/llama_cpp_setup.sh
// installs it into $TT_LLAMA_CPP_MODULES (default ~/.cache/tinythink/llama-cpp/node_modules).
import {execFileSync} from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [tinythink, sourceDir] = process.argv.slice(2);
const modules = process.env.TT_LLAMA_CPP_MODULES || path.join(os.homedir(), ".cache/tinythink/llama-cpp/node_modules");
const shared = process.env.TINYTHINK_SHARED || path.join(sourceDir, "../shared");
const newTokens = 8;

function skip(reason) {
  console.log(`SKIPPED: ${reason}`);
  process.exit(77);
}
for (const pkg of ["node-llama-cpp", "@node-llama-cpp/linux-x64", "@huggingface/jinja"])
  if (!fs.existsSync(path.join(modules, pkg, "package.json")))
    skip(`${pkg} is not installed under ${modules} (run scripts/llama_cpp_setup.sh)`);
if (process.platform !== "linux" || process.arch !== "x64") skip("the prebuilt libllama used here is linux-x64 only");

const tokenizerDir = path.join(shared, "data/fixtures/gguf/llama-tiny");
if (!fs.existsSync(path.join(tokenizerDir, "tokenizer.json"))) {
  console.error(`FAILED: ${tokenizerDir}/tokenizer.json is missing (set TINYTHINK_SHARED)`);
  process.exit(1);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "tt-llama-cpp-"));
const run = (file, args, env = {}) =>
  execFileSync(file, args, {cwd: work, env: {...process.env, ...env}, stdio: ["ignore", "pipe", "inherit"]});
const readJsonl = (file) =>
  fs.readFileSync(path.join(work, file), "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));

const prompts = [
  [128000, 791, 4062, 374],
  [128000, 9906, 1917, 0, 358, 1097],
  [128000, 128006, 882, 128007, 271, 3923, 374, 220, 17, 10, 17, 30, 128009],
];
fs.writeFileSync(path.join(work, "prompts.jsonl"), prompts.map((ids) => JSON.stringify({ids})).join("\n") + "\n");

const bounds = {
  f32: {logprob: (lp) => 1e-3, greedy: "identical"},
  f16: {logprob: (lp) => 0.05, greedy: "identical"},
  bf16: {logprob: (lp) => 0.5, greedy: "identical"},
  q8_0: {logprob: (lp) => 0.1 * Math.abs(lp), greedy: "until a near-tie"},
};
// llama4_text (dense, QK-norm, interleaved RoPE) is written as llama.cpp's "qwen3" (src/model/gguf_export.cpp).
const models = [
  {name: "llama", config: "tests/fixtures/gguf_llama/config.json", outtypes: ["f32", "f16", "bf16", "q8_0"]},
  {name: "llama4_text", config: "tests/fixtures/gguf_llama4/config.json", outtypes: ["f32", "bf16"]},
  // Llama 3's RoPE scaling (original_max_position_embeddings 64: every frequency class is hit by the
  // prompts' positions) as llama.cpp's rope_freqs.weight tensor.
  {name: "llama-rope-scaled", config: "tests/fixtures/gguf_llama_rope/config.json", outtypes: ["f32"]},
];
const conversations = [
  [{role: "system", content: "Be brief."}, {role: "user", content: "What is 2+2?"},
   {role: "assistant", content: "<think>2 and 2 make 4</think>4"}, {role: "user", content: "And 3+3?"}],
  [{role: "user", content: "Name a prime."}, {role: "assistant", content: "<think>small</think>7"}],
];
const moduleUrl = (file) => new URL(`file://${path.join(modules, file)}`).href;
const {readGgufFileInfo} = await import(moduleUrl("node-llama-cpp/dist/index.js"));
const {Template} = await import(moduleUrl("@huggingface/jinja/dist/index.js"));
// Compares the file's chat template, rendered by @huggingface/jinja, with tinythink's rendering.
async function checkChatTemplate(label, gguf, checkpoint) {
  const tokenizer = (await readGgufFileInfo(path.join(work, gguf), {readTensorInfo: false})).metadata.tokenizer;
  if (typeof tokenizer?.chat_template !== "string") return [`${label}: no tokenizer.chat_template in ${gguf}`];
  const template = new Template(tokenizer.chat_template);
  const bos = tokenizer.ggml.tokens[tokenizer.ggml.bos_token_id];
  const problems = [];
  conversations.forEach((messages, c) => {
    fs.writeFileSync(path.join(work, "messages.json"), JSON.stringify(messages));
    for (const addGenerationPrompt of [false, true]) {
      const theirs = template.render({messages, bos_token: bos, add_generation_prompt: addGenerationPrompt});
      const ours = run(tinythink, ["chat-template", "--tokenizer-config", checkpoint, "--messages", "messages.json",
                                   ...(addGenerationPrompt ? ["--add-generation-prompt"] : [])]).toString("utf8");
      if (ours !== theirs)
        problems.push(`${label} conversation ${c} (add_generation_prompt ${addGenerationPrompt}): ` +
                      `ours ${JSON.stringify(ours)} file's template ${JSON.stringify(theirs)}`);
    }
  });
  return problems;
}

const failures = [];
let passed = 0, checks = 0;
for (const model of models) {
  const dir = `model-${model.name}`;
  run(tinythink, ["init-model", "--config", path.join(sourceDir, model.config),
                  "--tokenizer", tokenizerDir, "--seed", "7", "--dtype", "bf16", "--out", dir]);
  // Ours in fp32 (the bounds above are for our fp32 arithmetic; `auto` is bf16 on CPUs with native
  // bf16 dot products, which moved log-probs by 0.1-0.2 and a near-tie greedy token on a Zen 5).
  run(tinythink, ["score", "--model", dir, "--precision", "fp32", "--input", "prompts.jsonl",
                  "--output", `${dir}_scores.jsonl`]);
  run(tinythink, ["generate", "--model", dir, "--precision", "fp32", "--input", "prompts.jsonl",
                  "--output", `${dir}_greedy.jsonl`, "--max-new-tokens", String(newTokens), "--ignore-eos"]);
  const ourScores = readJsonl(`${dir}_scores.jsonl`);
  const ourGreedy = readJsonl(`${dir}_greedy.jsonl`).map((row) => row.completion_ids);
  for (const outtype of model.outtypes) {
    const bound = bounds[outtype], label = `${model.name} ${outtype}`;
    const file = `${dir}-${outtype}.gguf`;
    ++checks;
    run(tinythink, ["export", "--model", dir, "--format", "gguf", "--outtype", outtype, "--out", file]);
    run("node", [path.join(sourceDir, "tools/llama_cpp/score_gguf.mjs"), file, "prompts.jsonl", `${file}.jsonl`,
                 String(newTokens), "--exact"], {TT_LLAMA_CPP_MODULES: modules});
    const theirs = readJsonl(`${file}.jsonl`);
    const before = failures.length;
    let worst = 0;
    prompts.forEach((ids, p) => {
      const ours = ourScores[p].token_logprobs, llama = theirs[p].token_logprobs;
      if (ours.length !== llama.length) failures.push(`${label} prompt ${p}: ${ours.length} vs ${llama.length} log-probs`);
      ours.forEach((lp, i) => {
        const diff = Math.abs(lp - llama[i]);
        worst = Math.max(worst, diff);
        if (!(diff <= bound.logprob(lp)))
          failures.push(`${label} prompt ${p} token ${i + 1}: log-prob ours ${lp} llama.cpp ${llama[i]}`);
      });
      let compared = newTokens;
      if (bound.greedy !== "identical") {
        const tie = theirs[p].greedy_gaps.findIndex((gap) => gap < 0.5);
        if (tie >= 0) compared = tie;  // the near-tie step and those after it may differ
      }
      for (let i = 0; i < compared; ++i) {
        if (ourGreedy[p][i] === theirs[p].greedy[i]) continue;
        failures.push(`${label} prompt ${p}: greedy ours [${ourGreedy[p]}] llama.cpp [${theirs[p].greedy}] differ at ${i}`);
        break;
      }
    });
    if (outtype === "f32") failures.push(...await checkChatTemplate(label, file, dir));
    if (failures.length === before) ++passed;
    console.log(`${label}: max |d logprob| ${worst.toExponential(2)}, greedy ${bound.greedy}` +
                (outtype === "f32" ? ", chat template" : "") + ": " +
                (failures.length === before ? "ok" : "FAILED"));
  }
}
fs.rmSync(work, {recursive: true, force: true});
for (const failure of failures) console.log(`  ${failure}`);
console.log(`${passed} passed, ${checks - passed} failed`);
process.exit(failures.length === 0 ? 0 : 1);
