// An Ollama Modelfile for a checkpoint exported as GGUF: FROM the file, the chat template as Ollama's Go
// TEMPLATE, the default system message (SYSTEM), stop tokens and the default sampling of
// generation_config.json (PARAMETER temperature / top_p / top_k / min_p / repeat_penalty).
// Only Llama-3 header templates are converted (<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>):
// the Jinja template is rendered for a probe conversation, the text it puts before the system block,
// after it, between turns and before the generation prompt (newlines, in the study's template) is read off
// that rendering, and the Go template built from them must render exactly what the Jinja template renders
// for the probes (with and without a system message); any other template is refused with a one-line
// error, not guessed.
#pragma once
#include <string>

namespace tt {

// The text a Llama-3 header template writes around its blocks (besides the BOS it starts with).
struct Llama3Layout {
  std::string before_system, after_system, between_turns, before_generation;
};
// Ollama's Go TEMPLATE for that layout (Ollama puts SYSTEM as the first message when there is none).
std::string ollama_llama3_template(const Llama3Layout& layout);

// `model_dir`: the checkpoint (tokenizer_config.json, tokenizer.json, optional generation_config.json);
// `gguf_name`: the GGUF file name beside the Modelfile.
std::string ollama_modelfile(const std::string& model_dir, const std::string& gguf_name);

}  // namespace tt
