// Built-in task data for the embedded demo study: arithmetic word problems (GSM8K-like), verifiable
// instructions (IFEval's format and instruction ids), four BBH tasks, and a byte-level BPE tokenizer
// trained on the training text. Needs nothing outside the repository; deterministic in the seed.
//
//   SyntheticOptions o;  o.out_dir = "out/demo/data";
//   SyntheticFiles f = write_synthetic_data(o);
//
// Files written under out_dir (each atomically):
//   pretrain.jsonl         {"text": ...}: plain renderings (no chat template) of problems with their
//                          worked solutions, instructions with responses, BBH questions with answers.
//   pretrain.tokens.jsonl  {"tokens": [bos, ..., eos], "loss_mask": [1, ...]}: pretrain.jsonl through
//                          the trained tokenizer (read_tokenized_jsonl / an SFT `dataset.path`).
//   sft.jsonl              {"messages": [{role, content}...], "task": ..., and "answer" (arithmetic,
//                          BBH) or "instruction_id_list" + "kwargs" (ifeval)}: chat SFT, all families;
//                          the assistant writes "<think>\n...\n</think>\n" then the answer. Arithmetic
//                          and BBH answers end "The answer is \boxed{X}." (BBH targets holding braces,
//                          Dyck sequences, without \boxed). Half the arithmetic rows carry the study's
//                          GSM8K system prompt, the rest use the template's default one.
//   prompts.jsonl          {"messages": [user], "answer": "N", "task": "arithmetic", "question": ...}:
//                          arithmetic prompts held out from SFT, for on-policy preference pairs.
//   eval/                  a data root laid out like ../shared/data, for the real evaluation tasks:
//     gsm8k/test.jsonl     {"question", "answer": "...<<a+b=c>>c...\n#### N"} held out from all training
//     gsm8k/train.jsonl    the SFT arithmetic problems in the same format (few-shot source)
//     ifeval/input_data.jsonl  {"key", "prompt", "instruction_id_list", "kwargs"}
//     bbh/bbh/<task>.json  {"examples": [{"input", "target"}]} for boolean_expressions,
//                          object_counting, word_sorting, dyck_languages
//   tokenizer/             tokenizer.json + tokenizer_config.json (bpe_train.h; the study's chat
//                          template, specials <|begin_of_text|> ... <|finetune_right_pad_id|> last)
// No question, prompt or BBH input in eval/ or prompts.jsonl appears in the training files.
//
// IFEval and BBH responses are checked on the text after </think> (the answer), so an evaluation
// of a model trained on this data should strip the think block before scoring those tasks.
#pragma once
#include <cstdint>
#include <string>

namespace tt {

struct ArithmeticOptions {
  int64_t max_number = 20;   // operands of + and - (the start amount and what is added / taken)
  int64_t max_factor = 9;    // factors of * and divisors of /
  // Relative weights of problems with 1, 2 and 3 operations.
  double weight_1 = 0.45, weight_2 = 0.40, weight_3 = 0.15;
};

struct SyntheticOptions {
  std::string out_dir = "out/demo/data";
  // Files of synth's names (pretrain.jsonl, sft.jsonl, eval/, tokenizer/, ...) in out_dir that an
  // earlier synth did not write (no synth.json beside them) are refused unless this is set.
  bool overwrite = false;
  uint64_t seed = 42;
  ArithmeticOptions arithmetic;
  // Training data.
  int64_t pretrain_docs = 4000;       // each 1-3 items of any family
  int64_t sft_arithmetic = 2000;
  int64_t sft_ifeval = 600;
  int64_t sft_bbh_per_task = 150;
  // Held out.
  int64_t prompts = 200;              // arithmetic prompts for on-policy pairs
  int64_t eval_gsm8k = 200;
  int64_t eval_ifeval = 150;
  int64_t eval_bbh_per_task = 100;
  // Tokenizer (trained on pretrain + SFT text).
  int64_t vocab_size = 2048;          // includes the 6 special tokens; micro-llama4's vocab_size
  bool write_tokenizer = true;        // false: no tokenizer/ and no pretrain.tokens.jsonl
};

struct SyntheticFiles {
  std::string out_dir;
  std::string pretrain, pretrain_tokens, sft, prompts;  // paths
  std::string eval_root;      // TaskOptions::data_root for the evaluation tasks
  std::string tokenizer_dir;  // holds tokenizer.json and tokenizer_config.json
  int64_t pretrain_docs = 0, pretrain_tokens_total = 0, sft_rows = 0, prompt_rows = 0;
  int64_t eval_gsm8k = 0, eval_ifeval = 0, eval_bbh = 0;
  int64_t vocab_size = 0;
  int32_t bos_id = -1, eos_id = -1, eot_id = -1, pad_id = -1;
  double seconds = 0;
};

SyntheticFiles write_synthetic_data(const SyntheticOptions& options);

}  // namespace tt
