// The embedded demo study: a copy of configs/demo/study.yaml (StudyPlan.TheDemoStudyIsTheCommittedFileAndPlans
// checks they are equal; after editing that file, paste it here).
#include "study/demo.h"

namespace tt::study {

const std::string& demo_study_yaml() {
  static const std::string text = R"yaml(# The embedded demo study: what `tinythink run` runs without a file (this file is a copy of the
# one compiled into the binary; a test keeps them equal). It needs nothing but the repository:
# synthetic task data and a BPE tokenizer built from it, a micro model of the MobileLLM-R1
# architecture, a short base training stage, SFT, on-policy pairs, DPO and APO-zero, evaluation of
# every checkpoint with the real scorers, and the report. Sized for a 2-core CPU: about 4-5 minutes
# (measured on the 2-vCPU development machine; base and sft training take most of it).
name: demo
output_dir: out/demo
stages:
  - name: data
    kind: data
    config:
      generator: synthetic
      seed: 42
      pretrain_docs: 2000
      sft_arithmetic: 4000
      sft_ifeval: 300
      sft_bbh_per_task: 75
      # one- and two-step problems with small numbers: learnable by a 1M-parameter model in minutes
      arithmetic: {max_number: 10, max_factor: 5, weight_1: 0.5, weight_2: 0.5, weight_3: 0}

  - name: init
    kind: init
    config: {arch: micro-llama4, seed: 42, tokenizer: "${data}/tokenizer"}

  # "Pretraining": plain renderings of every task family, no chat template.
  - name: base
    kind: sft
    from: init
    config:
      dataset: {path: "${data}/pretrain.tokens.jsonl"}
      trainer:
        per_device_train_batch_size: 4
        max_steps: 240
        learning_rate: 3.0e-3
        lr_scheduler_type: cosine
        warmup_ratio: 0.05
        adam_beta2: 0.95
        bf16: false  # fp32, as measured (TRL's default is bf16)
        max_length: 256
        packing: true
        logging_steps: 20
        save_steps: 80
        save_total_limit: 1
        seed: 42

  # Chat SFT with the study's template: <think> traces and \boxed{} answers. The loss covers the whole
  # conversation, not only the assistant's tokens: the template's <|eot_id|> lies outside its
  # {% generation %} block, so with assistant_only_loss the model would never learn to stop.
  - name: sft
    kind: sft
    from: base
    config:
      dataset: {path: "${data}/sft.jsonl"}
      trainer:
        per_device_train_batch_size: 4
        num_train_epochs: 1
        learning_rate: 2.0e-3
        lr_scheduler_type: cosine
        warmup_ratio: 0.05
        adam_beta2: 0.95
        bf16: false  # fp32, as measured (TRL's default is bf16)
        max_length: 256
        assistant_only_loss: false
        packing: true
        logging_steps: 20
        save_steps: 200
        save_total_limit: 1
        seed: 42

  # On-policy pairs: 8 samples per held-out prompt, verified against the answer.
  - name: pairs
    kind: pairs
    from: sft
    config:
      prompts: "${data}/prompts.jsonl"
      k: 8
      temperature: 1.0
      top_p: 1.0
      max_new_tokens: 160
      seed: 42
      precision: fp32

  # Preference optimisation from the SFT model on its own pairs, each loss at two betas.
  - name: dpo
    kind: dpo
    from: sft
    sweep: {beta: [0.1, 0.5]}
    config:
      dataset: {path: "${pairs}/pairs.jsonl"}
      trainer:
        loss_type: sigmoid
        per_device_train_batch_size: 8
        num_train_epochs: 1
        learning_rate: 3.0e-4
        lr_scheduler_type: cosine
        warmup_ratio: 0.1
        adam_beta2: 0.95
        bf16: false  # fp32, as measured (TRL's default is bf16)
        max_length: 384
        max_prompt_length: 192
        max_completion_length: 192
        logging_steps: 5
        save_steps: 50
        save_total_limit: 1
        seed: 42

  - name: apo_zero
    kind: dpo
    from: sft
    sweep: {beta: [0.1, 0.5]}
    config:
      dataset: {path: "${pairs}/pairs.jsonl"}
      trainer:
        loss_type: apo_zero
        per_device_train_batch_size: 8
        num_train_epochs: 1
        learning_rate: 3.0e-4
        lr_scheduler_type: cosine
        warmup_ratio: 0.1
        adam_beta2: 0.95
        bf16: false  # fp32, as measured (TRL's default is bf16)
        max_length: 384
        max_prompt_length: 192
        max_completion_length: 192
        logging_steps: 5
        save_steps: 50
        save_total_limit: 1
        seed: 42

  - name: eval
    kind: eval
    runs: [base, sft, dpo, apo_zero]
    config:
      tasks: [gsm8k_boxed, ifeval, bbh_zeroshot_boolean_expressions, bbh_zeroshot_object_counting,
              bbh_zeroshot_word_sorting, bbh_zeroshot_dyck_languages]
      limit: 200
      apply_chat_template: true
      strip_thinking: true
      data_root: "${data}/eval"
      gen_kwargs: {temperature: 0, max_gen_toks: 160}
      precision: fp32
      seed: 1234

  - name: report
    kind: report
)yaml";
  return text;
}

}  // namespace tt::study
