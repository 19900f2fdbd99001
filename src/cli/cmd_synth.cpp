// tinythink synth: write the built-in demo data (study/synthetic.h): pretraining text, chat SFT
// data, on-policy prompts, held-out evaluation sets in ../shared/data's layout, and a trained
// byte-level BPE tokenizer.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "study/synthetic.h"

namespace tt::cli {

void register_synth(CLI::App& app) {
  auto options = std::make_shared<SyntheticOptions>();
  auto* cmd = app.add_subcommand("synth", "write the built-in demo task data and train its tokenizer");
  cmd->add_option("--out", options->out_dir, "output directory")->required();
  cmd->add_option("--seed", options->seed, "random seed (same seed, same bytes)")->check(unsigned_64());
  cmd->add_option("--vocab-size", options->vocab_size, "tokenizer vocabulary incl. special tokens")->check(CLI::Range(262, 1 << 20));
  cmd->add_option("--pretrain-docs", options->pretrain_docs, "pretraining documents")->check(non_negative());
  cmd->add_option("--sft-arithmetic", options->sft_arithmetic, "SFT arithmetic problems")->check(non_negative());
  cmd->add_option("--sft-ifeval", options->sft_ifeval, "SFT instruction-following examples")->check(non_negative());
  cmd->add_option("--sft-bbh", options->sft_bbh_per_task, "SFT examples per BBH task")->check(non_negative());
  cmd->add_option("--prompts", options->prompts, "held-out arithmetic prompts for on-policy pairs")->check(non_negative());
  cmd->add_option("--eval-gsm8k", options->eval_gsm8k, "held-out arithmetic problems (eval/gsm8k/test.jsonl)")->check(non_negative());
  cmd->add_option("--eval-ifeval", options->eval_ifeval, "held-out IFEval prompts")->check(non_negative());
  cmd->add_option("--eval-bbh", options->eval_bbh_per_task, "held-out examples per BBH task")->check(non_negative());
  cmd->add_option("--max-number", options->arithmetic.max_number, "largest operand of + and -")->check(CLI::Range(3, 100000));
  cmd->add_option("--max-factor", options->arithmetic.max_factor, "largest factor of * and divisor of /")->check(CLI::Range(2, 1000));
  cmd->add_flag("--overwrite", options->overwrite, "replace files of synth's names in a directory synth did not write");
  auto no_tokenizer = std::make_shared<bool>(false);
  cmd->add_flag("--no-tokenizer", *no_tokenizer, "skip the tokenizer and pretrain.tokens.jsonl");
  cmd->callback([options, no_tokenizer] {
    options->write_tokenizer = !*no_tokenizer;
    SyntheticFiles f = write_synthetic_data(*options);
    fmt::print("data: {}\neval data_root: {}\n", f.out_dir, f.eval_root);
    if (!f.tokenizer_dir.empty()) {
      fmt::print("tokenizer: {} (vocab {}, bos {}, eos {}, eot {}, pad {})\n", f.tokenizer_dir, f.vocab_size, f.bos_id, f.eos_id,
                 f.eot_id, f.pad_id);
    }
  });
}

}  // namespace tt::cli
