// The bad-input catalogue (issue 18): careless and hostile inputs over every file format and verb.
// Each case runs the binary in a fresh sandbox directory and asserts the exit code, a single
// "error: ..." line naming the file / field / limit, and that nothing in the sandbox was written,
// removed or changed (a user's file is never destroyed, no half output is left behind).
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "core/content_hash.h"
#include "data/shard.h"
#include "infer/test_models.h"
#include "io/file.h"
#include "io/safetensors.h"
#include "tests/test_util.h"

namespace tt {
namespace {

namespace fs = std::filesystem;

// A case's directory and the helpers its setup uses to write inputs there.
struct Sandbox {
  std::string dir;

  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = dir + "/" + name;
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  // A copy of the tiny Llama 4 parity checkpoint (config.json + model.safetensors), to damage.
  std::string model(const std::string& name = "model") const {
    const std::string path = dir + "/" + name;
    fs::create_directories(path);
    for (const char* f : {"config.json", "model.safetensors"})
      fs::copy_file(testing::fixture_dir() + "/parity/tiny_llama4/" + f, path + "/" + f);
    return path;
  }
  // An SFT config on the parity model; `trainer_extra` lines ("  key: value") replace the defaults.
  std::string sft_config(const std::string& trainer_extra, const std::string& data = "") const {
    std::string trainer;
    for (const char* line : {"  per_device_train_batch_size: 2", "  num_train_epochs: 1", "  learning_rate: 1e-3",
                             "  save_steps: 2"}) {
      const std::string key = std::string(line).substr(0, std::string(line).find(':') + 1);
      if (trainer_extra.find(key) == std::string::npos) trainer += std::string(line) + "\n";
    }
    if (trainer_extra.find("  output_dir:") == std::string::npos) trainer += "  output_dir: " + dir + "/out\n";
    return write("sft.yaml", fmt::format("model_name: {}/parity/tiny_llama4\ndataset:\n  path: {}\ntrainer:\n{}{}\n",
                                         testing::fixture_dir(),
                                         data.empty() ? testing::fixture_dir() + "/sft/nll/examples.jsonl" : data,
                                         trainer, trainer_extra));
  }
  std::string chat(const std::string& template_source) const {
    write("tok/tokenizer_config.json", nlohmann::json{{"chat_template", template_source}, {"bos_token", "<s>"}}.dump());
    write("messages.json", R"([{"role": "user", "content": "hi"}])");
    return "chat-template --tokenizer-config " + dir + "/tok --messages " + dir + "/messages.json";
  }
  // A tiny random model saved with a byte-level tokenizer and `template_source` as its chat template
  // (what `chat` and `generate --chat` load), in dir/chat-model.
  std::string chat_model(const std::string& template_source) const {
    const std::string tok = dir + "/chat-tok";
    fs::create_directories(tok);
    infer::testing::write_tiny_tokenizer(tok);
    write("chat-tok/tokenizer_config.json",
          nlohmann::json{{"chat_template", template_source}, {"eos_token", "<eos>"}}.dump());
    SaveOptions options;
    options.tokenizer_source = tok;
    save_model(infer::testing::tiny_model(), dir + "/chat-model", options);
    return dir + "/chat-model";
  }
  // `generate --chat` on chat_model(template_source) with one user message.
  std::string generate_chat(const std::string& template_source) const {
    return "generate --model " + chat_model(template_source) + " --chat --input " +
           write("in.jsonl", R"({"messages": [{"role": "user", "content": "hi"}]})" "\n") + " --output " + dir +
           "/out.jsonl";
  }
};

struct BadInput {
  std::string name;
  std::function<std::string(const Sandbox&)> setup;  // writes the inputs, returns the CLI arguments
  std::vector<std::string> message;                  // fragments of the error line (file, field, limit)
  int exit_code = 1;
};

// Every path under dir with its content hash (directories as "dir").
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string path = e.path().string();
    out[path] = e.is_directory() ? "dir" : hex64(hash_file(path));
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

std::string jinja_chain(const std::string& unit, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += unit;
  return out;
}

// The safetensors `file` with the first element of tensor `name` set to `value` (f32 or bf16).
void poison_weight(const std::string& file, const std::string& name, float value) {
  uint64_t begin = 0;
  bool bf16 = false;
  {
    SafetensorsFile st(file);
    begin = st.get(name).begin;
    bf16 = st.get(name).dtype == DType::BF16;
  }
  std::string bytes = read_file(file);
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), sizeof header);
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  if (bf16) {
    const uint16_t top = static_cast<uint16_t>(bits >> 16);
    std::memcpy(bytes.data() + 8 + header + begin, &top, sizeof top);
  } else {
    std::memcpy(bytes.data() + 8 + header + begin, &bits, sizeof bits);
  }
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

std::string tokenizer_path() { return testing::shared_dir() + "/data/tokenizer/llama3/tokenizer.json"; }

// Llama 3's tokenizer.json with its first added token's id replaced.
std::string tokenizer_json_with_added_id(int64_t added_id) {
  nlohmann::json tokenizer = read_json_file(tokenizer_path());
  tokenizer["added_tokens"][0]["id"] = added_id;
  return tokenizer.dump();
}

std::string fx_model() { return testing::fixture_dir() + "/parity/tiny_llama4"; }

std::vector<BadInput> catalogue() {
  const std::string fx = testing::fixture_dir();
  std::vector<BadInput> c;
  // ---- chat templates: untrusted code shipped with models (chat-template, prepare, generate --chat)
  c.push_back({"template_macro_calls_itself", [](const Sandbox& s) {
                 return s.chat("{% macro f(x) %}{{ f(x) }}{% endmacro %}{{ f(1) }}");
               }, {"tokenizer_config.json", "macro 'f'", "nested deeper than 64"}});
  c.push_back({"template_macros_call_each_other", [](const Sandbox& s) {
                 return s.chat("{% macro a(x) %}{{ b(x) }}{% endmacro %}{% macro b(x) %}{{ a(x) }}{% endmacro %}{{ a(1) }}");
               }, {"tokenizer_config.json", "nested deeper than 64"}});
  c.push_back({"template_100000_parentheses", [](const Sandbox& s) {
                 return s.chat("{{ " + std::string(100000, '(') + "1" + std::string(100000, ')') + " }}");
               }, {"tokenizer_config.json", "nesting deeper than 100 levels"}});
  c.push_back({"template_100000_term_sum", [](const Sandbox& s) { return s.chat("{{ 1" + jinja_chain("+1", 100000) + " }}"); },
               {"tokenizer_config.json", "nesting deeper than 100 levels"}});
  c.push_back({"template_100000_nested_ifs", [](const Sandbox& s) { return s.chat(jinja_chain("{% if true %}", 100000)); },
               {"tokenizer_config.json", "nesting deeper than 100 levels"}});
  c.push_back({"template_int_min_floordiv_minus_one", [](const Sandbox& s) {
                 return s.chat("{{ (-9223372036854775807 - 1) // -1 }}");
               }, {"tokenizer_config.json", "integer overflow"}});
  c.push_back({"template_power_overflow", [](const Sandbox& s) { return s.chat("{{ 2 ** 100000 }}"); },
               {"tokenizer_config.json", "2 ** 100000 does not fit in 64 bits", "big int"}});
  c.push_back({"template_int64_max_plus_one", [](const Sandbox& s) { return s.chat("{{ 9223372036854775807 + 1 }}"); },
               {"tokenizer_config.json", "integer overflow"}});
  c.push_back({"template_string_repetition", [](const Sandbox& s) { return s.chat("{{ 'abc' * 1000000000000 }}"); },
               {"tokenizer_config.json", "repeated string", "limit"}});
  c.push_back({"template_list_repetition", [](const Sandbox& s) { return s.chat("{{ [1] * 1000000000000 }}"); },
               {"tokenizer_config.json", "repeated list", "limit"}});
  c.push_back({"template_nested_range_loops", [](const Sandbox& s) {
                 return s.chat("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}");
               }, {"tokenizer_config.json", "loop iterations"}});
  c.push_back({"template_huge_range", [](const Sandbox& s) { return s.chat("{{ range(1000000000) | length }}"); },
               {"tokenizer_config.json", "MAX_RANGE (100000)"}});
  c.push_back({"template_doubling_string", [](const Sandbox& s) {
                 return s.chat("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}");
               }, {"tokenizer_config.json", "concatenated string", "limit"}});
  c.push_back({"template_unknown_filter", [](const Sandbox& s) { return s.chat("{{ 1 | frobnicate }}"); },
               {"tokenizer_config.json", "filter 'frobnicate'"}});
  c.push_back({"template_syntax_error", [](const Sandbox& s) { return s.chat("{% if %}"); },
               {"tokenizer_config.json", "syntax error"}});
  c.push_back({"messages_not_a_list", [](const Sandbox& s) {
                 std::string args = s.chat("{{ messages }}");
                 s.write("messages.json", R"({"role": "user"})");
                 return args;
               }, {"messages.json"}});
  c.push_back({"prepare_recursive_template", [](const Sandbox& s) {
                 s.write("evil.jinja", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
                 s.write("chat.jsonl", R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})" "\n");
                 return "prepare --input " + s.dir + "/chat.jsonl --tokenizer " + tokenizer_path() + " --chat-template " +
                        s.dir + "/evil.jinja --out " + s.dir + "/out.ttshard";
               }, {"evil.jinja", "nested deeper than 64"}});
  c.push_back({"generate_chat_recursive_template", [](const Sandbox& s) {
                 return s.generate_chat("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}");
               }, {"tokenizer_config.json", "nested deeper than 64"}});
  c.push_back({"generate_chat_huge_template_output", [](const Sandbox& s) {
                 return s.generate_chat(
                     "{% set ns = namespace(x=[1]) %}{% for i in range(60) %}{% set ns.x = [ns.x, ns.x] %}{% endfor %}{{ ns.x }}");
               }, {"tokenizer_config.json", "more than 16777216 nested items"}});
  c.push_back({"chat_deeply_nested_template_value", [](const Sandbox& s) {
                 const std::string model = s.chat_model(
                     "{% set ns = namespace(x=[1]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}{{ ns.x }}");
                 return "chat --model " + model + " --max-new-tokens 2 < " + s.write("stdin.txt", "hello\n");
               }, {"tokenizer_config.json", "nested deeper than 1000 levels"}});
  c.push_back({"chat_recursive_macros", [](const Sandbox& s) {
                 const std::string model = s.chat_model(
                     "{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}");
                 return "chat --model " + model + " --max-new-tokens 2 < " + s.write("stdin.txt", "hello\n");
               }, {"tokenizer_config.json", "nested deeper than 64"}});
  // ---- init-model: never destroy a user's file
  c.push_back({"init_model_out_is_a_file", [](const Sandbox& s) {
                 return "init-model --arch micro-llama4 --out " + s.write("precious.txt", "my thesis\n");
               }, {"precious.txt", "exists and is not a directory"}});
  c.push_back({"init_model_out_is_a_file_even_with_overwrite", [](const Sandbox& s) {
                 return "init-model --arch micro-llama4 --overwrite --out " + s.write("precious.txt", "my thesis\n");
               }, {"precious.txt", "never replaces a file"}});
  c.push_back({"init_model_out_is_a_foreign_directory", [](const Sandbox& s) {
                 s.write("work/notes.md", "notes\n");
                 return "init-model --arch micro-llama4 --out " + s.dir + "/work";
               }, {"work", "not a previous init-model output", "notes.md", "--overwrite"}});
  // A trained checkpoint has init-model's file names: it was replaced by random weights (exit 0).
  c.push_back({"init_model_out_is_a_trained_checkpoint", [](const Sandbox& s) {
                 return "init-model --arch micro-llama4 --out " + s.model("trained");
               }, {"trained/model.safetensors", "init-model did not write", "--overwrite"}});
  // ---- sft / dpo output_dir: a user's folder (found by the bad-input sweep of 2026-12-05: its files
  // were replaced, exit 0, and a dataset named metrics.jsonl there became the run's log)
  c.push_back({"sft_dataset_is_the_runs_metrics_file", [](const Sandbox& s) {
                 const std::string data = s.write("work/metrics.jsonl", read_file(testing::fixture_dir() + "/sft/nll/examples.jsonl"));
                 return "sft " + s.sft_config("  output_dir: " + s.dir + "/work", data);
               }, {"sft.yaml", "dataset.path", "work/metrics.jsonl", "the run's own metrics.jsonl"}});
  c.push_back({"sft_output_dir_holds_the_users_config", [](const Sandbox& s) {
                 s.write("work/config.json", "{\"mine\": true}\n");
                 return "sft " + s.sft_config("  output_dir: " + s.dir + "/work");
               }, {"sft.yaml", "trainer.output_dir", "holds 'config.json'", "overwrite_output_dir"}});
  c.push_back({"dpo_output_dir_holds_the_users_weights", [](const Sandbox& s) {
                 s.model("work");
                 return "dpo " + s.write("dpo.yaml", fmt::format("model_name: {}/parity/tiny_llama4\ndataset:\n  path: {}/dpo/ipo/pairs.jsonl\n"
                                                                 "trainer:\n  max_steps: 1\n  output_dir: {}/work\n",
                                                                 testing::fixture_dir(), testing::fixture_dir(), s.dir));
               }, {"dpo.yaml", "trainer.output_dir", "holds 'config.json'", "not a tinythink training output"}});
  // ---- import over a user's tokenizer folder (its tokenizer and chat template were replaced, exit 0),
  // onto a file (a raw filesystem error, exit 2), dpo's reference cache a file (exit 2 after the pass)
  c.push_back({"import_out_holds_the_users_tokenizer", [](const Sandbox& s) {
                 s.write("tok/tokenizer_config.json", "{\"chat_template\": \"MINE\"}\n");
                 return "import " + testing::shared_dir() + "/data/fixtures/gguf/model-f32.gguf " + s.dir + "/tok";
               }, {"import OUTDIR", "tok", "tokenizer_config.json", "--overwrite"}});
  c.push_back({"import_out_is_a_file", [](const Sandbox& s) {
                 return "import " + testing::shared_dir() + "/data/fixtures/gguf/model-f32.gguf " +
                        s.write("precious.txt", "mine\n");
               }, {"import OUTDIR", "precious.txt", "never replaces a file"}});
  c.push_back({"dpo_ref_cache_is_a_file", [](const Sandbox& s) {
                 return "dpo " + s.write("dpo.yaml", fmt::format("model_name: {}/parity/tiny_llama4\ndataset:\n  path: {}/dpo/ipo/pairs.jsonl\n"
                                                                 "trainer:\n  max_steps: 1\n  output_dir: {}/o\n",
                                                                 testing::fixture_dir(), testing::fixture_dir(), s.dir)) +
                        " --ref-cache " + s.write("precious.txt", "mine\n");
               }, {"dpo --ref-cache", "precious.txt", "not a directory"}});
  // chat with options every turn rejects: each turn failed, exit 0
  c.push_back({"chat_negative_temperature", [](const Sandbox& s) {
                 const std::string model = s.chat_model("{% for m in messages %}{{ m.content }}{% endfor %}");
                 return "chat --model " + model + " --temperature -1 < " + s.write("stdin.txt", "hello\n");
               }, {"chat", "temperature must be >= 0", "--temperature"}});
  // ---- synth: a user's data folder (its sft.jsonl was replaced, exit 0)
  c.push_back({"synth_out_holds_the_users_data", [](const Sandbox& s) {
                 s.write("data/sft.jsonl", "{\"messages\": []}\n");
                 return "synth --out " + s.dir + "/data --pretrain-docs 5";
               }, {"data/sft.jsonl", "not written by synth", "--overwrite"}});
  c.push_back({"init_model_tokenizer_beyond_vocab", [](const Sandbox& s) {
                 return "init-model --arch micro-llama4 --out " + s.dir + "/m --tokenizer " + tokenizer_path();
               }, {"tokenizer.json", "beyond the model's vocab_size"}});
  c.push_back({"init_model_truncated_tokenizer", [](const Sandbox& s) {
                 return "init-model --arch micro-llama4 --out " + s.dir + "/m --tokenizer " +
                        s.write("tok.json", read_file(tokenizer_path()).substr(0, 5000));
               }, {"tok.json"}});
  c.push_back({"init_model_vocab_2_40", [](const Sandbox& s) {
                 nlohmann::json config = read_json_file(testing::fixture_dir() + "/parity/tiny_llama4/config.json");
                 config["vocab_size"] = int64_t{1} << 40;
                 return "init-model --config " + s.write("config.json", config.dump()) + " --out " + s.dir + "/m";
               }, {"config.json", "vocab_size", "1099511627776"}});
  c.push_back({"init_model_negative_hidden_size", [](const Sandbox& s) {
                 nlohmann::json config = read_json_file(testing::fixture_dir() + "/parity/tiny_llama4/config.json");
                 config["hidden_size"] = -64;
                 return "init-model --config " + s.write("config.json", config.dump()) + " --out " + s.dir + "/m";
               }, {"config.json", "hidden_size"}});
  c.push_back({"init_model_huge_layers", [](const Sandbox& s) {
                 nlohmann::json config = read_json_file(testing::fixture_dir() + "/parity/tiny_llama4/config.json");
                 config["num_hidden_layers"] = 100000;
                 config["hidden_size"] = 65536;
                 config["head_dim"] = 128;
                 return "init-model --config " + s.write("config.json", config.dump()) + " --out " + s.dir + "/m";
               }, {"config.json", "parameters", "limit"}});
  c.push_back({"init_model_config_not_json", [](const Sandbox& s) {
                 return "init-model --config " + s.write("config.json", "{\"vocab_size\": ") + " --out " + s.dir + "/m";
               }, {"config.json", "invalid JSON"}});
  // ---- tokenizers
  c.push_back({"tokenizer_id_2_31_minus_1", [](const Sandbox& s) {
                 return "tokenize --tokenizer " + s.write("tokenizer.json", tokenizer_json_with_added_id(2147483647)) + " < /dev/null";
               }, {"tokenizer.json", "2147483647", "limit"}});
  c.push_back({"tokenizer_negative_id", [](const Sandbox& s) {
                 return "tokenize --tokenizer " + s.write("tokenizer.json", tokenizer_json_with_added_id(-1)) + " < /dev/null";
               }, {"tokenizer.json", "token id"}});
  c.push_back({"tokenizer_truncated_json", [](const Sandbox& s) {
                 return "tokenize --tokenizer " + s.write("tokenizer.json", tokenizer_json_with_added_id(5).substr(0, 60)) + " < /dev/null";
               }, {"tokenizer.json"}});
  c.push_back({"tokenizer_unknown_model_type", [](const Sandbox& s) {
                 nlohmann::json tokenizer = read_json_file(tokenizer_path());
                 tokenizer["model"]["type"] = "Magic";
                 const std::string text = tokenizer.dump();
                 return "tokenize --tokenizer " + s.write("tokenizer.json", text) + " < /dev/null";
               }, {"tokenizer.json", "Magic"}});
  c.push_back({"tiktoken_bad_base64", [](const Sandbox& s) {
                 return "tokenize --tokenizer " + s.write("tokenizer.model", "YQ== 0\n!!!! 1\n") + " < /dev/null";
               }, {"tokenizer.model:2", "base64"}});
  c.push_back({"tiktoken_huge_rank", [](const Sandbox& s) {
                 return "tokenize --tokenizer " + s.write("tokenizer.model", "YQ== 0\nYg== 999999999\n") + " < /dev/null";
               }, {"tokenizer.model:2", "999999999", "limit"}});
  // ---- checkpoints (safetensors, config.json) through score
  auto score = [](const Sandbox& s, const std::string& model) {
    return "score --model " + model + " --input " + s.write("in.jsonl", "{\"ids\": [1, 2, 3]}\n") + " --output " +
           s.dir + "/scores.jsonl";
  };
  c.push_back({"weights_nan", [score](const Sandbox& s) {
                 std::string m = s.model();
                 poison_weight(m + "/model.safetensors", "model.layers.0.self_attn.q_proj.weight", std::nanf(""));
                 return score(s, m);
               }, {"model.safetensors", "model.layers.0.self_attn.q_proj.weight", "non-finite", "nan"}});
  // An index whose shard lies outside the model folder ("../other/model.safetensors") read another
  // folder's weights; transformers joins the path as given. Refused, naming the entry.
  c.push_back({"sharded_index_outside_the_model_folder", [score](const Sandbox& s) {
                 std::string m = s.model();
                 std::string other = s.model("other");
                 fs::remove(m + "/model.safetensors");
                 nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
                 const SafetensorsFile weights(other + "/model.safetensors");
                 for (const auto& tensor : weights.tensors())
                   index["weight_map"][tensor.name] = "../other/model.safetensors";
                 s.write("model/model.safetensors.index.json", index.dump());
                 return score(s, m);
               }, {"model.safetensors.index.json", "../other/model.safetensors", "not a file inside the model folder"}});
  c.push_back({"unknown_command", [](const Sandbox&) { return std::string("frobnicate --model x"); },
               {"unknown command 'frobnicate'", "sft", "eval"}});
  c.push_back({"weights_inf", [score](const Sandbox& s) {
                 std::string m = s.model();
                 poison_weight(m + "/model.safetensors", "model.norm.weight", INFINITY);
                 return score(s, m);
               }, {"model.safetensors", "model.norm.weight", "non-finite", "inf"}});
  c.push_back({"weights_truncated", [score](const Sandbox& s) {
                 std::string m = s.model();
                 std::string bytes = read_file(m + "/model.safetensors");
                 std::ofstream(m + "/model.safetensors", std::ios::trunc | std::ios::binary) << bytes.substr(0, bytes.size() / 2);
                 return score(s, m);
               }, {"model.safetensors"}});
  c.push_back({"weights_huge_header_length", [score](const Sandbox& s) {
                 std::string m = s.model();
                 std::string bytes = read_file(m + "/model.safetensors");
                 const uint64_t huge = uint64_t{1} << 62;
                 std::memcpy(bytes.data(), &huge, sizeof huge);
                 std::ofstream(m + "/model.safetensors", std::ios::trunc | std::ios::binary) << bytes;
                 return score(s, m);
               }, {"model.safetensors"}});
  c.push_back({"weights_missing_config", [score](const Sandbox& s) {
                 std::string m = s.model();
                 fs::remove(m + "/config.json");
                 return score(s, m);
               }, {"config.json"}});
  c.push_back({"config_vocab_size_2_40", [score](const Sandbox& s) {
                 std::string m = s.model();
                 nlohmann::json config = read_json_file(m + "/config.json");
                 config["vocab_size"] = int64_t{1} << 40;
                 s.write("model/config.json", config.dump());
                 return score(s, m);
               }, {"config.json", "vocab_size", "32-bit"}});
  c.push_back({"config_unknown_model_type", [score](const Sandbox& s) {
                 std::string m = s.model();
                 nlohmann::json config = read_json_file(m + "/config.json");
                 config["model_type"] = "gpt2";
                 s.write("model/config.json", config.dump());
                 return score(s, m);
               }, {"config.json", "gpt2"}});
  c.push_back({"score_id_beyond_vocab", [](const Sandbox& s) {
                 return "score --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, 300]}\n") + " --output " + s.dir + "/o.jsonl";
               }, {"in.jsonl:1", "300"}});
  c.push_back({"score_negative_id", [](const Sandbox& s) {
                 return "score --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, -4]}\n") + " --output " + s.dir + "/o.jsonl";
               }, {"in.jsonl:1"}});
  c.push_back({"score_empty_input", [](const Sandbox& s) {  // printed perplexity 1.000, exit 0
                 return "score --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "") + " --output " + s.dir + "/o.jsonl";
               }, {"score --input", "in.jsonl", "no sequences"}});
  c.push_back({"score_past_the_context", [](const Sandbox& s) {  // scored with RoPE extrapolated, exit 0
                 std::string ids = "1";
                 for (int i = 1; i < 129; ++i) ids += ", 5";  // 129 ids; the model's context is 128
                 return "score --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, 2]}\n{\"ids\": [" + ids + "]}\n") + " --output " + s.dir +
                        "/o.jsonl";
               }, {"in.jsonl:2", "129 ids", "128", "max_position_embeddings"}});
  c.push_back({"export_out_is_a_directory", [](const Sandbox& s) {  // "rename failed (Is a directory)"
                 s.write("folder/notes.md", "mine\n");
                 return "export --model " + testing::fixture_dir() + "/parity/tiny_llama4 --overwrite --out " + s.dir + "/folder";
               }, {"export --out", "folder", "is a directory"}});
  c.push_back({"score_malformed_jsonl", [](const Sandbox& s) {
                 return "score --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, 2]}\n{\"ids\": [1,\n") + " --output " + s.dir + "/o.jsonl";
               }, {"in.jsonl:2"}});
  // ---- an output that is the run's own input (it used to be replaced: the user's file was gone)
  c.push_back({"score_output_is_the_input", [](const Sandbox& s) {
                 const std::string in = s.write("in.jsonl", "{\"ids\": [1, 2, 3]}\n");
                 return "score --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " + in + " --output " +
                        s.dir + "/./in.jsonl";
               }, {"score --output", "in.jsonl", "--input"}});
  c.push_back({"generate_output_is_a_link_to_the_input", [](const Sandbox& s) {
                 const std::string in = s.write("in.jsonl", "{\"ids\": [1, 2]}\n");
                 fs::create_symlink(in, s.dir + "/link.jsonl");
                 return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " + in +
                        " --max-new-tokens 2 --output " + s.dir + "/link.jsonl";
               }, {"generate --output", "link.jsonl", "--input"}});
  c.push_back({"sft_truncation_leaves_no_target", [](const Sandbox& s) {  // trained on nothing, loss 0.0, exit 0
                 return "sft " + s.sft_config("  max_length: 2\n");
               }, {"sft.yaml", "max_length 2", "nothing to train on"}});
  c.push_back({"sft_eval_path_token_beyond_vocab", [](const Sandbox& s) {  // failed at the first evaluation
                 s.write("eval.jsonl", "{\"tokens\": [5, 99999, 7], \"loss_mask\": [0, 1, 1]}\n");
                 return "sft " + s.sft_config("  eval_strategy: steps\n  eval_steps: 1000\n") + " --set dataset.eval_path=" +
                        s.dir + "/eval.jsonl";
               }, {"dataset.eval_path", "eval.jsonl", "99999"}});
  c.push_back({"generate_line_with_prompt_and_ids", [](const Sandbox& s) {  // the prompt was dropped
                 return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"prompt\": \"hi\", \"ids\": [1, 2]}\n") + " --output " + s.dir + "/o.jsonl";
               }, {"in.jsonl:1", "not several"}});
  c.push_back({"generate_guided_decoding_unapplied", [](const Sandbox& s) {  // echoed, never applied
                 return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, 2], \"guided_decoding\": {\"regex\": \"[0-9]+\"}}\n") +
                        " --output " + s.dir + "/o.jsonl";
               }, {"in.jsonl:1", "'guided_decoding'", "does not implement"}});
  c.push_back({"score_single_id_sequences", [](const Sandbox& s) {  // perplexity 1.000 over no token
                 return "score --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1]}\n{\"ids\": [2]}\n") + " --output " + s.dir + "/o.jsonl";
               }, {"score --input", "in.jsonl", "no token is scored"}});
  c.push_back({"sft_set_empty_value", [](const Sandbox& s) {  // the YAML's dataset.path was used instead
                 return "sft " + s.sft_config("") + " --set dataset.path=";
               }, {"--set dataset.path", "no value"}});
  c.push_back({"sft_token_budget_on_pretokenized_data", [](const Sandbox& s) {  // ignored without a word
                 return "sft " + s.sft_config("") + " --set dataset.token_budget=10";
               }, {"dataset.token_budget", "pre-tokenized"}});
  c.push_back({"sft_eval_path_and_test_size", [](const Sandbox& s) {  // test_size dropped without a word
                 return "sft " + s.sft_config("") + " --set dataset.test_size=0.5 --set dataset.eval_path=" +
                        testing::fixture_dir() + "/sft/nll/examples.jsonl";
               }, {"dataset.eval_path", "test_size", "not both"}});
  c.push_back({"sft_empty_data_file", [](const Sandbox& s) {  // "no tokenizer.json or tokenizer.model"
                 return "sft " + s.sft_config("", s.write("empty.jsonl", "\n\n"));
               }, {"empty.jsonl", "no examples"}});
  // An eval stage's config is checked at --dry-run (a bad gen_kwargs key used to fail after the training stages).
  for (const auto& [name, stage_config, expected] :
       std::vector<std::tuple<std::string, std::string, std::vector<std::string>>>{
           {"study_eval_gen_kwargs_unknown_key_dry_run", "tasks: [gsm8k], gen_kwargs: \"foo=1\"",
            {"gen_kwargs", "unknown key 'foo'"}},
           {"study_eval_fewshot_as_multiturn_without_chat", "tasks: [mmlu_anatomy], fewshot_as_multiturn: true",
            {"fewshot_as_multiturn: true needs apply_chat_template: true"}},
           {"study_eval_fewshot_as_multiturn_not_a_bool",
            "tasks: [mmlu_anatomy], apply_chat_template: true, fewshot_as_multiturn: maybe", {"expected true or false"}},
           {"study_eval_limit_zero", "tasks: [mmlu_anatomy], limit: 0",
            {"limit: 0: give a number of documents (>= 1) or a fraction"}}}) {
    const std::string config = stage_config;  // clang 14 cannot capture a structured binding
    std::vector<std::string> message = {"stage 'eval'"};
    message.insert(message.end(), expected.begin(), expected.end());
    c.push_back({name, [config](const Sandbox& s) {
                   return "run " + s.write("study.yaml", fmt::format(R"(name: s
output_dir: {0}/study
stages:
  - name: init
    kind: init
    config: {{arch: micro-llama4}}
  - name: eval
    kind: eval
    from: init
    config: {{{1}}}
)", s.dir, config)) + " --dry-run";
                 }, message});
  }
  // ---- values nested 100,000 deep: copying or printing them overflowed the stack (exit 139)
  c.push_back({"generate_stop_nested_100000_deep", [](const Sandbox& s) {
                 const std::string deep = std::string(100000, '[') + std::string(100000, ']');
                 return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, 2], \"stop\": " + deep + "}\n") +
                        " --max-new-tokens 2 --output " + s.dir + "/o.jsonl";
               }, {"in.jsonl:1", "nested deeper than 512 levels"}});
  c.push_back({"sft_tokens_nested_100000_deep", [](const Sandbox& s) {
                 const std::string deep = std::string(100000, '[') + std::string(100000, ']');
                 s.write("deep.jsonl", "{\"tokens\": " + deep + ", \"loss_mask\": [0, 1, 1]}\n");
                 return "sft " + s.sft_config("", s.dir + "/deep.jsonl");
               }, {"deep.jsonl:1", "nested deeper than 512 levels"}});
  c.push_back({"gen_kwargs_until_nested_40000_deep", [](const Sandbox& s) {
                 const std::string saved = s.write("r.jsonl", "{\"doc_id\": 0, \"response\": \"4\"}\n");
                 return "eval --tasks gsm8k --data " + testing::shared_dir() + "/data --responses " + saved + " --output " +
                        s.dir + "/e --gen-kwargs '{\"until\": " + std::string(40000, '[') + "}'";
               }, {"--gen-kwargs", "nested deeper than 512 levels"}});
  c.push_back({"score_output_is_the_models_weights", [](const Sandbox& s) {  // the weights became a JSONL line
                 const std::string m = s.model("m");
                 return "score --model " + m + " --input " + s.write("in.jsonl", "{\"ids\": [1, 2, 3]}\n") +
                        " --output " + m + "/model.safetensors";
               }, {"score --output", "model.safetensors", "--model checkpoint's model.safetensors"}});
  c.push_back({"generate_output_is_the_models_config", [](const Sandbox& s) {
                 const std::string m = s.model("m");
                 return "generate --model " + m + " --input " + s.write("in.jsonl", "{\"ids\": [1, 2]}\n") +
                        " --max-new-tokens 2 --output " + m + "/./config.json";
               }, {"generate --output", "config.json", "--model checkpoint's config.json"}});
  c.push_back({"eval_rescore_into_the_folder_of_the_responses", [](const Sandbox& s) {
                 const std::string saved = s.write("e/samples_gsm8k.jsonl", "{\"doc_id\": 0, \"response\": \"4\"}\n");
                 return "eval --tasks gsm8k --responses " + saved + " --output " + s.dir + "/e";
               }, {"eval --output", "samples_gsm8k.jsonl", "--responses"}});
  c.push_back({"pairs_out_holds_the_prompts_as_pairs_jsonl", [](const Sandbox& s) {
                 const std::string prompts = s.write("p/pairs.jsonl", "{\"prompt\": \"1+1?\", \"answer\": \"2\"}\n");
                 return "pairs --model " + testing::fixture_dir() + "/parity/tiny_llama4 --prompts " + prompts +
                        " --out " + s.dir + "/p";
               }, {"pairs --out", "pairs.jsonl", "--prompts"}});
  c.push_back({"pairs_limit_zero", [](const Sandbox& s) {
                 return "pairs --model " + testing::fixture_dir() + "/parity/tiny_llama4 --prompts " +
                        s.write("p.jsonl", "{\"prompt\": \"1+1?\", \"answer\": \"2\"}\n") + " --out " + s.dir +
                        "/o --limit 0";
               }, {"pairs --limit 0", ">= 1"}});
  c.push_back({"export_overwrite_onto_the_models_own_config", [](const Sandbox& s) {
                 const std::string model = s.model();
                 return "export --model " + model + " --outtype f32 --overwrite --out " + model + "/config.json";
               }, {"export --out", "config.json", "--model"}});
  c.push_back({"sft_output_dir_is_the_model", [](const Sandbox& s) {
                 const std::string model = s.model();
                 return "sft " + s.write("sft.yaml", fmt::format("model_name: {0}\ndataset:\n  path: {1}\ntrainer:\n"
                                                                 "  output_dir: {0}/.\n  max_steps: 2\n  save_steps: 1\n",
                                                                 model, testing::fixture_dir() + "/sft/nll/examples.jsonl"));
               }, {"sft.yaml", "trainer.output_dir", "model_name"}});
  // ---- generate / eval options
  auto generate = [](const Sandbox& s, const std::string& extra) {
    return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
           s.write("in.jsonl", "{\"ids\": [1, 2]}\n") + " --output " + s.dir + "/out.jsonl " + extra;
  };
  c.push_back({"generate_n_1e9", [generate](const Sandbox& s) { return generate(s, "--n 1000000000"); },
               {"generate --n:", "n must be <= 65536"}});
  c.push_back({"generate_top_p_2", [generate](const Sandbox& s) { return generate(s, "--top-p 2"); },
               {"generate --top-p:", "top_p"}});
  c.push_back({"generate_negative_temperature", [generate](const Sandbox& s) { return generate(s, "--temperature -1"); },
               {"generate --temperature:", "temperature must be >= 0"}});  // blamed in.jsonl:1 before
  c.push_back({"generate_unknown_request_key", [](const Sandbox& s) {
                 return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, 2], \"temprature\": 1}\n") + " --output " + s.dir + "/out.jsonl";
               }, {"in.jsonl:1", "temprature"}});
  // Integer request fields given as floats or out of range were truncated or wrapped (exit 0: seed 1.5
  // ran as 1, seed -1 as 2^64 - 1, max_new_tokens 2.7 as 2, a stop id of 3e9 as a wrapped int32).
  auto request = [](const Sandbox& s, const std::string& fields) {
    return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
           s.write("in.jsonl", "{\"ids\": [1, 2], " + fields + "}\n") + " --output " + s.dir + "/out.jsonl";
  };
  c.push_back({"generate_request_seed_1_5", [request](const Sandbox& s) { return request(s, "\"seed\": 1.5"); },
               {"in.jsonl:1", "'seed' must be an integer, got 1.5"}});
  c.push_back({"generate_request_seed_negative", [request](const Sandbox& s) { return request(s, "\"seed\": -1"); },
               {"in.jsonl:1", "'seed' is out of range (-1"}});
  c.push_back({"generate_request_max_new_tokens_2_7", [request](const Sandbox& s) {
                 return request(s, "\"max_new_tokens\": 2.7");
               }, {"in.jsonl:1", "'max_new_tokens' must be an integer"}});
  c.push_back({"generate_request_stop_token_id_3e9", [request](const Sandbox& s) {
                 return request(s, "\"stop_token_ids\": [3000000000]");
               }, {"in.jsonl:1", "'stop_token_ids' is out of range (3000000000"}});
  c.push_back({"generate_output_directory_missing", [](const Sandbox& s) {
                 return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, 2]}\n") + " --output " + s.dir + "/no/such/dir/out.jsonl";
               }, {"--output", "does not exist"}});
  c.push_back({"generate_output_is_a_directory", [](const Sandbox& s) {
                 s.write("outdir/keep.txt", "keep\n");
                 return "generate --model " + testing::fixture_dir() + "/parity/tiny_llama4 --input " +
                        s.write("in.jsonl", "{\"ids\": [1, 2]}\n") + " --output " + s.dir + "/outdir";
               }, {"--output", "is a directory"}});
  c.push_back({"pairs_out_is_a_file", [](const Sandbox& s) {
                 return "pairs --model " + testing::fixture_dir() + "/parity/tiny_llama4 --prompts " +
                        s.write("prompts.jsonl", "{\"prompt\": \"1+1\", \"answer\": \"2\"}\n") + " --out " +
                        s.write("pairs.txt", "mine\n");
               }, {"pairs --out", "pairs.txt", "not a directory"}});
  c.push_back({"pairs_negative_temperature", [](const Sandbox& s) {  // named no flag before
                 return "pairs --model " + testing::fixture_dir() + "/parity/tiny_llama4 --prompts " +
                        s.write("prompts.jsonl", "{\"prompt\": \"1+1\", \"answer\": \"2\"}\n") + " --out " + s.dir +
                        "/pairs --temperature -1";
               }, {"pairs --temperature:", "temperature must be >= 0"}});
  c.push_back({"eval_fewshot_more_than_the_train_split", [](const Sandbox& s) {  // named no file before
                 for (const char* split : {"train", "test"})
                   s.write(fmt::format("data/gsm8k/{}.jsonl", split), "{\"question\": \"1+1?\", \"answer\": \"2\\n#### 2\"}\n");
                 return "eval --model " + testing::fixture_dir() + "/parity/tiny_llama4 --tasks gsm8k --limit 1 --num-fewshot 3 --data " +
                        s.dir + "/data --output " + s.dir + "/e";
               }, {"num_fewshot 3", "gsm8k/train.jsonl", "(1)"}});
  c.push_back({"eval_limit_zero", [](const Sandbox& s) {
                 return "eval --model " + testing::fixture_dir() + "/parity/tiny_llama4 --tasks gsm8k --limit 0 --output " + s.dir + "/e";
               }, {"--limit 0", ">= 1"}});
  c.push_back({"eval_limit_negative", [](const Sandbox& s) {
                 return "eval --model " + testing::fixture_dir() + "/parity/tiny_llama4 --tasks gsm8k --limit -1 --output " + s.dir + "/e";
               }, {"--limit -1", ">= 1"}});
  c.push_back({"eval_negative_fewshot", [](const Sandbox& s) {
                 return "eval --model " + testing::fixture_dir() + "/parity/tiny_llama4 --tasks gsm8k --num-fewshot -3 --output " + s.dir + "/e";
               }, {"--num-fewshot -3", ">= 0"}});
  // ---- training configs (YAML) and data
  auto sft_with = [](const std::string& key_value) {
    return [key_value](const Sandbox& s) { return "sft " + s.sft_config("  " + key_value); };
  };
  // logged every step (1e30 cast to INT64_MIN, then max(1, ...)), exit 0
  c.push_back({"sft_logging_steps_1e30", sft_with("logging_steps: 1e30"), {"sft.yaml", "trainer.logging_steps", "whole number"}});
  c.push_back({"sft_save_steps_2_5", sft_with("save_steps: 2.5"), {"sft.yaml", "trainer.save_steps", "ratio in (0, 1)"}});
  // the other trainer's keys, accepted and never applied (exit 0)
  c.push_back({"sft_given_a_dpo_beta", sft_with("beta: 0.3"), {"sft.yaml", "trainer.beta", "a DPO option", "sft does not apply"}});
  c.push_back({"dpo_given_packing", [](const Sandbox& s) {
                 return "dpo " + s.write("dpo.yaml", "model_name: m\ndataset:\n  path: p.jsonl\ntrainer:\n  packing: true\n  output_dir: " + s.dir + "/o\n");
               }, {"dpo.yaml", "trainer.packing", "an SFT option", "dpo does not apply"}});
  // dpo evaluates on dataset.eval_path or a test_size hold-out, one of them
  c.push_back({"dpo_given_an_eval_file_and_a_test_split", [](const Sandbox& s) {
                 return "dpo " + s.write("dpo.yaml", "model_name: m\ndataset:\n  path: p.jsonl\n  test_size: 0.1\n"
                                                     "  eval_path: e.jsonl\ntrainer:\n  output_dir: " + s.dir + "/o\n");
               }, {"dpo.yaml", "give dataset.eval_path or dataset.test_size, not both"}});
  // a malformed pair was dropped with a note, whatever dataset.on_error said (exit 0)
  c.push_back({"dpo_malformed_pair_line", [](const Sandbox& s) {
                 const std::string data = s.write("pairs.jsonl", read_file(testing::fixture_dir() + "/dpo/ipo/pairs.jsonl") + "{\"prompt\": 5, \"chosen\"\n");
                 return "dpo " + s.write("dpo.yaml", fmt::format("model_name: {}/parity/tiny_llama4\ndataset:\n  path: {}\n"
                                                                 "trainer:\n  max_steps: 1\n  output_dir: {}/o\n",
                                                                 testing::fixture_dir(), data, s.dir));
               }, {"pairs.jsonl:13:", "on_error: skip"}});
  c.push_back({"sft_adam_beta1_2", sft_with("adam_beta1: 2"), {"sft.yaml", "trainer.adam_beta1", "[0, 1)"}});
  c.push_back({"sft_adam_beta2_negative", sft_with("adam_beta2: -1"), {"sft.yaml", "trainer.adam_beta2", "[0, 1)"}});
  c.push_back({"sft_warmup_ratio_5", sft_with("warmup_ratio: 5"), {"sft.yaml", "trainer.warmup_ratio", "[0, 1]"}});
  c.push_back({"sft_negative_learning_rate", sft_with("learning_rate: -0.1"), {"sft.yaml", "trainer.learning_rate"}});
  c.push_back({"sft_nan_learning_rate", sft_with("learning_rate: .nan"), {"sft.yaml", "trainer.learning_rate"}});
  c.push_back({"sft_negative_weight_decay", sft_with("weight_decay: -1"), {"sft.yaml", "trainer.weight_decay"}});
  c.push_back({"sft_negative_epsilon", sft_with("adam_epsilon: -1e-8"), {"sft.yaml", "trainer.adam_epsilon"}});
  c.push_back({"sft_zero_batch", sft_with("gradient_accumulation_steps: 0"), {"sft.yaml", "trainer.gradient_accumulation_steps"}});
  c.push_back({"sft_huge_max_length", sft_with("max_length: 1e20"), {"sft.yaml", "trainer.max_length", "too large"}});
  c.push_back({"sft_unknown_key", sft_with("learning_rat: 1e-3"), {"sft.yaml", "learning_rat"}});
  c.push_back({"sft_invalid_yaml", [](const Sandbox& s) { return "sft " + s.write("sft.yaml", "model_name: [\n"); },
               {"sft.yaml", "invalid YAML"}});
  c.push_back({"sft_pretokenized_id_past_32_bits", [](const Sandbox& s) {
                 return "sft " + s.sft_config("", s.write("data.jsonl", "{\"tokens\": [1, 2, 4294967301]}\n"));
               }, {"data.jsonl:1", "4294967301"}});
  c.push_back({"sft_pretokenized_id_beyond_vocab", [](const Sandbox& s) {
                 return "sft " + s.sft_config("", s.write("data.jsonl", "{\"tokens\": [1, 2, 5000]}\n"));
               }, {"sft.yaml: dataset", "data.jsonl", "token id 5000 out of range"}});
  c.push_back({"sft_malformed_jsonl", [](const Sandbox& s) {
                 return "sft " + s.sft_config("", s.write("data.jsonl", "{\"tokens\": [1, 2]}\n{\"tokens\": \n"));
               }, {"data.jsonl:2"}});
  c.push_back({"sft_shard_token_byte_flipped", [](const Sandbox& s) {
                 const std::string path = s.dir + "/data.ttshard";
                 {
                   TokenShardWriter w(path);
                   const uint32_t source = w.source_index("x");
                   const std::vector<int32_t> tokens = {1, 2, 3, 4};
                   const std::vector<uint8_t> mask = {1, 1, 1, 1};
                   for (int i = 0; i < 4; ++i) w.add(tokens, mask, source);
                   w.finish();
                 }
                 std::string bytes = read_file(path);
                 bytes[128] ^= 0x01;
                 std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
                 return "sft " + s.sft_config("", path);
               }, {"data.ttshard", "checksum mismatch in the token or mask section"}});
  c.push_back({"sft_resume_negative_global_step", [](const Sandbox& s) {
                 std::string cfg = s.sft_config("");
                 if (testing::run_cli("sft " + cfg).exit_code != 0) return std::string("sft-setup-failed");
                 nlohmann::json state = read_json_file(s.dir + "/out/checkpoint-2/trainer_state/state.json");
                 state["global_step"] = -5;
                 s.write("out/checkpoint-2/trainer_state/state.json", state.dump());
                 fs::remove(s.dir + "/out/model.safetensors");
                 for (const auto& e : fs::directory_iterator(s.dir + "/out"))
                   if (e.path().filename().string().rfind("checkpoint-", 0) == 0 && e.path().filename() != "checkpoint-2")
                     fs::remove_all(e.path());
                 return "sft " + cfg + " --resume";
               }, {"checkpoint-2/trainer_state/state.json", "global_step -5 is negative"}});
  c.push_back({"sft_resume_nan_checkpoint", [](const Sandbox& s) {
                 std::string cfg = s.sft_config("");
                 if (testing::run_cli("sft " + cfg).exit_code != 0) return std::string("sft-setup-failed");
                 fs::remove(s.dir + "/out/model.safetensors");
                 for (const auto& e : fs::directory_iterator(s.dir + "/out"))
                   if (e.path().filename().string().rfind("checkpoint-", 0) == 0 && e.path().filename() != "checkpoint-2")
                     fs::remove_all(e.path());
                 poison_weight(s.dir + "/out/checkpoint-2/model.safetensors", "model.embed_tokens.weight", std::nanf(""));
                 return "sft " + cfg + " --resume";
               }, {"checkpoint-2/model.safetensors", "model.embed_tokens.weight", "non-finite"}});
  c.push_back({"dpo_unknown_loss_type", [](const Sandbox& s) {
                 return "dpo " + s.write("dpo.yaml", "model_name: m\ndataset:\n  path: p.jsonl\ntrainer:\n  loss_type: magic\n  output_dir: " + s.dir + "/o\n");
               }, {"dpo.yaml", "loss_type 'magic'"}});
  c.push_back({"dpo_adam_beta1_2", [](const Sandbox& s) {
                 return "dpo " + s.write("dpo.yaml", "model_name: m\ndataset:\n  path: p.jsonl\ntrainer:\n  adam_beta1: 2\n  output_dir: " + s.dir + "/o\n");
               }, {"dpo.yaml", "trainer.adam_beta1"}});
  c.push_back({"dpo_unknown_truncation_mode", [](const Sandbox& s) {
                 return "dpo " + s.write("dpo.yaml", "model_name: m\ndataset:\n  path: p.jsonl\ntrainer:\n  truncation_mode: keep_middle\n  output_dir: " + s.dir + "/o\n");
               }, {"dpo.yaml", "trainer.truncation_mode"}});
  // ---- found by the bad-input sweep of 2026-12-04 (each failed before its fix)
  c.push_back({"sft_output_dir_is_a_file", [](const Sandbox& s) {  // was an uncaught filesystem_error, exit 2
                 s.write("precious.txt", "my thesis\n");
                 return "sft " + s.sft_config("  output_dir: " + s.dir + "/precious.txt");
               }, {"sft.yaml", "trainer.output_dir", "precious.txt", "not a directory"}});
  c.push_back({"sft_output_dir_under_a_file", [](const Sandbox& s) {
                 s.write("precious.txt", "my thesis\n");
                 return "sft " + s.sft_config("  output_dir: " + s.dir + "/precious.txt/out");
               }, {"sft.yaml", "trainer.output_dir", "precious.txt", "not a directory"}});
  c.push_back({"prepare_out_is_a_users_file", [](const Sandbox& s) {  // was replaced by the shard, exit 0
                 s.write("chat.jsonl", R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]})" "\n");
                 s.write("tpl.jinja", "{% for m in messages %}{{ m.content }}{% endfor %}");
                 return "prepare --input " + s.dir + "/chat.jsonl --tokenizer " + tokenizer_path() + " --chat-template " +
                        s.dir + "/tpl.jinja --out " + s.write("notes.txt", "my notes\n");
               }, {"notes.txt", "not a token shard", "never replaces"}});
  c.push_back({"sft_loss_mask_all_zero", [](const Sandbox& s) {  // trained at loss 0, wrote the model, exit 0
                 return "sft " + s.sft_config("", s.write("data.jsonl", "{\"tokens\": [1, 2, 3], \"loss_mask\": [1, 0, 0]}\n"
                                                                        "{\"tokens\": [4, 5], \"loss_mask\": [0, 0]}\n"));
               }, {"data.jsonl", "no token has loss"}});
  c.push_back({"sft_loss_mask_value_2", [](const Sandbox& s) {
                 return "sft " + s.sft_config("", s.write("data.jsonl", "{\"tokens\": [1, 2, 3], \"loss_mask\": [0, 2, 1]}\n"));
               }, {"data.jsonl:1", "'loss_mask' must hold 0/1 values, got 2"}});
  c.push_back({"sft_duplicate_key", [](const Sandbox& s) {  // was accepted, one of the values ignored
                 return "sft " + s.sft_config("  max_steps: 2\n  max_steps: 3");
               }, {"sft.yaml", "duplicate key 'max_steps'"}});
  c.push_back({"study_duplicate_key", [](const Sandbox& s) {
                 return "run " + s.write("study.yaml", "name: a\nname: b\noutput_dir: o\nstages: []\n") + " --dry-run";
               }, {"study.yaml", "line 2", "duplicate key 'name'"}});
  c.push_back({"dpo_beta_zero", [](const Sandbox& s) {  // trained with a constant loss, exit 0
                 return "dpo " + s.write("dpo.yaml", "model_name: m\ndataset:\n  path: p.jsonl\ntrainer:\n  beta: 0\n  output_dir: " + s.dir + "/o\n");
               }, {"dpo.yaml", "trainer.beta", "(0, 1e6]"}});
  c.push_back({"dpo_label_smoothing_2", [](const Sandbox& s) {
                 return "dpo " + s.write("dpo.yaml", "model_name: m\ndataset:\n  path: p.jsonl\ntrainer:\n  label_smoothing: 2\n  output_dir: " + s.dir + "/o\n");
               }, {"dpo.yaml", "trainer.label_smoothing", "[0, 0.5]"}});
  auto eval_gsm8k = [](const Sandbox& s, const std::string& model, const std::string& extra) {
    for (const char* split : {"train", "test"})
      s.write(fmt::format("data/gsm8k/{}.jsonl", split), "{\"question\": \"1+1?\", \"answer\": \"2\\n#### 2\"}\n");
    return "eval --model " + model + " --tasks gsm8k --limit 1 --num-fewshot 0 --data " + s.dir + "/data " + extra;
  };
  c.push_back({"eval_empty_task_data", [](const Sandbox& s) {  // exact_match 0.0 +- 0.0 over no documents, exit 0
                 s.write("data/gsm8k/train.jsonl", "{\"question\": \"1+1?\", \"answer\": \"2\\n#### 2\"}\n");
                 s.write("data/gsm8k/test.jsonl", "");
                 const std::string model = s.chat_model("{% for m in messages %}{{ m.content }}{% endfor %}");
                 return "eval --model " + model + " --tasks gsm8k --num-fewshot 0 --data " + s.dir + "/data --output " +
                        s.dir + "/e";
               }, {"gsm8k", "no documents"}});
  c.push_back({"eval_gen_kwargs_negative_temperature", [eval_gsm8k](const Sandbox& s) {  // ran greedy, exit 0
                 return eval_gsm8k(s, fx_model(), "--gen-kwargs temperature=-1 --output " + s.dir + "/e");
               }, {"--gen-kwargs", "temperature=-1", "[0, 1e6]"}});
  c.push_back({"eval_gen_kwargs_top_p_2", [eval_gsm8k](const Sandbox& s) {  // ignored, exit 0
                 return eval_gsm8k(s, fx_model(), "--gen-kwargs top_p=2,do_sample=true --output " + s.dir + "/e");
               }, {"--gen-kwargs", "top_p=2", "(0, 1]"}});
  c.push_back({"eval_output_is_a_file", [eval_gsm8k](const Sandbox& s) {  // was an uncaught filesystem_error, exit 2
                 const std::string model = s.chat_model("{% for m in messages %}{{ m.content }}{% endfor %}");
                 return eval_gsm8k(s, model, "--gen-kwargs max_gen_toks=2 --output " + s.write("precious.txt", "mine\n"));
               }, {"eval --output", "precious.txt", "cannot create"}});
  c.push_back({"study_output_dir_is_a_file", [](const Sandbox& s) {  // was an uncaught filesystem_error, exit 2
                 s.write("precious.txt", "mine\n");
                 return "run " + s.write("study.yaml", fmt::format(R"(name: s
output_dir: {0}/precious.txt
stages:
  - name: init
    kind: init
    config: {{arch: micro-llama4}}
)", s.dir));
               }, {"precious.txt", "cannot create"}});
  // output_dir holding a study.json that the study did not write: it was replaced (exit 0)
  // `run` of study 's' with one init stage into s.dir/out, whose study.json is `study_json`.
  auto init_study_over = [](const Sandbox& s, const std::string& study_json) {
    s.write("out/study.json", study_json);
    return "run " + s.write("study.yaml", fmt::format(R"(name: s
output_dir: {0}/out
stages:
  - name: init
    kind: init
    config: {{arch: micro-llama4}}
)", s.dir));
  };
  c.push_back({"study_output_dir_holds_a_users_study_json", [init_study_over](const Sandbox& s) {
                 return init_study_over(s, "{\"mine\": 1}\n");
               }, {"out/study.json", "not a study.json written by tinythink"}});
  c.push_back({"study_output_dir_holds_another_study", [init_study_over](const Sandbox& s) {
                 return init_study_over(s, R"({"name": "other", "source": "o.yaml", "runs": ["a"]})" "\n");
               }, {"out/study.json", "holds study 'other', not 's'"}});
  c.push_back({"bench_train_huge_step", [](const Sandbox&) {  // filled memory for minutes
                 return std::string("bench train --arch micro-llama4 --batch 1000000 --seq 1000 --steps 1");
               }, {"--batch 1000000", "--seq 1000", "tokens per step"}});
  c.push_back({"bench_train_seq_past_context", [](const Sandbox&) {
                 return std::string("bench train --arch micro-llama4 --seq 100000000 --steps 1");
               }, {"--seq 100000000", "context"}});
  c.push_back({"bench_generate_huge_batch", [](const Sandbox&) {  // filled memory for minutes
                 return std::string("bench generate --arch micro-llama4 --batch 100000000");
               }, {"--batch 100000000", "65536"}});
  // usage errors: one "error:" line with CLI11's exit code (CLI11 printed its message, then "Run with --help")
  c.push_back({"generate_seed_minus_one", [generate](const Sandbox& s) { return generate(s, "--seed -1"); },  // was 2^64-1
               {"--seed", "expected a whole number from 0 to 18446744073709551615, got '-1'"}, 105});
  c.push_back({"generate_seed_past_2_64", [generate](const Sandbox& s) { return generate(s, "--seed 18446744073709551616"); },
               {"--seed", "got '18446744073709551616'"}, 105});
  c.push_back({"generate_max_batch_zero", [generate](const Sandbox& s) { return generate(s, "--max-batch 0"); },
               {"--max-batch", "must be positive, got 0"}, 105});
  c.push_back({"eval_batch_negative", [](const Sandbox& s) {
                 return "eval --model m --tasks gsm8k --batch -1 --output " + s.dir + "/e";
               }, {"--batch", "must be positive, got -1"}, 105});
  c.push_back({"generate_unknown_option", [generate](const Sandbox& s) { return generate(s, "--temprature 1"); },
               {"--temprature", "--help"}, 109});
  // ---- studies
  c.push_back({"study_sweep_of_10_8_runs_dry_run", [](const Sandbox& s) {
                 std::string values = "[";
                 for (int i = 0; i < 100; ++i) values += (i ? ", " : "") + std::to_string(i + 1) + "e-5";
                 values += "]";
                 return "run " + s.write("study.yaml", fmt::format(R"(name: big
output_dir: {0}/study
stages:
  - name: sft
    kind: sft
    config: {{model_name: m, dataset: {{path: d.jsonl}}}}
    sweep: {{learning_rate: {1}, weight_decay: {1}, warmup_ratio: {1}, adam_epsilon: {1}}}
)", s.dir, values)) + " --dry-run";
               }, {"study.yaml", "sweep", "limit of 10000"}});
  c.push_back({"study_invalid_yaml", [](const Sandbox& s) { return "run " + s.write("study.yaml", "stages: [\n") + " --dry-run"; },
               {"study.yaml"}});
  return c;
}

class BadInputCatalogue : public ::testing::TestWithParam<BadInput> {};

TEST_P(BadInputCatalogue, OneLineErrorAndNothingWritten) {
  const BadInput& bad = GetParam();
  Sandbox sandbox{testing::make_temp_dir("bad-" + bad.name)};
  const std::string args = bad.setup(sandbox);
  ASSERT_NE(args, "sft-setup-failed");
  const auto before = snapshot(sandbox.dir);
  const auto r = testing::run_cli(args);
  EXPECT_EQ(r.exit_code, bad.exit_code) << r.output;
  std::vector<std::string> errors;
  for (const auto& line : lines_of(r.output))
    if (line.rfind("error: ", 0) == 0) errors.push_back(line);
  ASSERT_EQ(errors.size(), 1u) << r.output;
  EXPECT_EQ(lines_of(r.output).back(), errors[0]) << r.output;
  for (const auto& fragment : bad.message) EXPECT_NE(errors[0].find(fragment), std::string::npos) << fragment << "\n" << errors[0];
  EXPECT_EQ(snapshot(sandbox.dir), before) << "the sandbox changed: " << r.output;
}

void PrintTo(const BadInput& bad, std::ostream* os) { *os << bad.name; }

TEST(BadInputCatalogueSize, HasAtLeastSixtyCases) { EXPECT_GE(catalogue().size(), 60u); }

INSTANTIATE_TEST_SUITE_P(Cases, BadInputCatalogue, ::testing::ValuesIn(catalogue()),
                         [](const ::testing::TestParamInfo<BadInput>& info) { return info.param.name; });

}  // namespace
}  // namespace tt

namespace tt {
namespace {

// A learning rate that blows the weights up: the run stops at the first non-finite gradient,
// naming the step and micro-batch, before an optimizer step spreads it; the checkpoint written
// before stays the newest, loads, and has finite weights; no final model is written.
TEST(TrainingNeverNanSilently, StopsAtTheFirstNonFiniteGradient) {
  Sandbox s{testing::make_temp_dir("nan-stop")};
  const std::string cfg = s.sft_config("  learning_rate: 1e30\n  save_steps: 1\n  gradient_accumulation_steps: 2");
  const auto r = testing::run_cli("sft " + cfg);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const auto lines = lines_of(r.output);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.back().find("error: step 2, micro-batch 1 of 2: the gradient of"), std::string::npos) << r.output;
  EXPECT_NE(lines.back().find("weights and checkpoints untouched"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(s.dir + "/out/checkpoint-1/model.safetensors"));
  EXPECT_FALSE(fs::exists(s.dir + "/out/checkpoint-2"));
  EXPECT_FALSE(fs::exists(s.dir + "/out/model.safetensors"));
  auto scored = testing::run_cli("score --model " + s.dir + "/out/checkpoint-1 --input " +
                                 s.write("in.jsonl", "{\"ids\": [1, 2, 3]}\n") + " --output " + s.dir + "/scores.jsonl");
  EXPECT_EQ(scored.exit_code, 0) << scored.output;
}

}  // namespace
}  // namespace tt
