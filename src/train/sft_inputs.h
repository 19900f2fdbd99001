// Where an SFT run's examples come from: the config's dataset (pre-tokenized JSONL with tokens and
// loss masks, or chat data prepared with the tokenizer's chat template), split into train and eval.
#pragma once
#include "train/sft.h"

namespace tt {

// Fills run.train, run.eval, run.pad_id and run.tokenizer_source from run.config.
void load_sft_inputs(SftRun& run);

}  // namespace tt
