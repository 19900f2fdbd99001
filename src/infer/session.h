// One loader for every inference user (generate, chat, eval, pairs): the model, its tokenizer, its
// chat template, the EOS ids that end a completion, and an engine over them.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "infer/engine.h"
#include "kernels/cpu/matmul.h"
#include "model/checkpoint.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace tt::infer {

// How much a session needs a part it may find beside the weights.
enum class Need { No, IfPresent, Required };

struct SessionOptions {
  Precision precision = Precision::FP32;
  int64_t max_batch = 64;
  int cuda_device = -1;  // EngineOptions::cuda_device
  Need tokenizer = Need::Required;
  // Required: a missing or broken template is an error; IfPresent: a broken one is ignored too.
  Need chat_template = Need::Required;
  std::string chat_template_file = "";        // a Jinja file that replaces the model's template (its special tokens kept)
  std::string tokenizer_missing_hint = "";    // appended to the "no tokenizer files" error when Need::Required
  bool tokenizer_fits_vocab = false;     // fail when the tokenizer has more tokens than the model's vocabulary
  std::string chat_template_missing = "";     // with Need::Required: the error when the model has no template files
};

struct Session {
  std::string dir;  // the model directory (a hub id resolved to its snapshot)
  Model model;
  std::optional<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;
  std::vector<int32_t> eos_ids;
  std::unique_ptr<Engine> engine;

  Session() = default;
  Session(const Session&) = delete;  // the engine points at model and tokenizer
  Session& operator=(const Session&) = delete;
};

// Loads the model at `path` (a directory or a cached hub id) with what `options` asks for; fails
// with one line naming the directory when a required part is missing.
std::unique_ptr<Session> open_session(const std::string& path, const SessionOptions& options);

// True when `dir` holds tokenizer files (tokenizer.json or tokenizer.model).
bool has_tokenizer_files(const std::string& dir);

}  // namespace tt::infer
