// tinythink chat: an interactive REPL over the model's chat template, streaming tokens as they come.
//   /reset  forget the conversation   /system TEXT  set the system message   /temp T  set the temperature
//   /quit   leave (so does end of input or Ctrl-C at the prompt; Ctrl-C while answering stops the answer)
#include <cmath>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <set>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/option_checks.h"
#include "cli/device_option.h"
#include "core/error.h"
#include "infer/generation_config.h"
#include "infer/sampler.h"
#include "infer/session.h"
#include "text/chat_encode.h"

namespace tt::cli {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

struct ChatArgs {
  std::string model, system, precision = "auto", device, generation_config = "auto";
  float temperature = 0.7f, top_p = 0.95f;
  int64_t max_new_tokens = 512;
  uint64_t seed = 0;
  std::set<std::string> given;  // SamplingParams fields set by a flag: the model's generation_config.json does not override them
};

void run_chat(const ChatArgs& args) {
  try {  // the options every turn uses: checked once, before the model loads (every turn failed, exit 0)
    infer::validate({.temperature = args.temperature, .top_p = args.top_p, .max_new_tokens = args.max_new_tokens});
  } catch (const Error& e) {
    fail("chat: {} (--temperature, --top-p, --max-new-tokens)", e.what());
  }
  const Precision precision = parse_precision(args.precision);
  const int cuda_device = choose_inference_device(args.device, "", precision);
  const auto session =
      infer::open_session(args.model, {.precision = precision, .max_batch = 1, .cuda_device = cuda_device});
  // Every reply's sampling: the flags, then the model's generation_config.json for what they leave unset.
  const infer::ModelSamplingDefaults model_defaults = infer::read_sampling_defaults(args.generation_config, session->dir);
  const infer::SamplingParams reply = with_model_defaults(
      "chat", {.temperature = args.temperature, .top_p = args.top_p, .max_new_tokens = args.max_new_tokens},
      model_defaults, args.given);
  if (!model_defaults.empty())
    std::fprintf(stderr, "sampling defaults from %s: %s (flags win; --generation-config vllm leaves them out)\n",
                 model_defaults.path.c_str(), model_defaults.describe().c_str());
  infer::Engine& engine = *session->engine;
  engine.set_stream([](int64_t, int64_t, const std::string& delta, bool) {
    std::fwrite(delta.data(), 1, delta.size(), stdout);
    std::fflush(stdout);
  });
  // SIGINT without SA_RESTART: a read at the prompt returns (ending the REPL), a reply stops early.
  struct sigaction action {};
  action.sa_handler = on_sigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;
  sigaction(SIGINT, &action, nullptr);

  std::string system = args.system;
  float temperature = reply.temperature;
  nlohmann::ordered_json history = nlohmann::ordered_json::array();
  uint64_t turn = 0;
  std::fprintf(stderr, "chat with %s (/reset, /system TEXT, /temp T, /quit)\n", args.model.c_str());
  // The "> " prompt is for a person at a terminal; piped input gets only the replies on stdout.
  const bool interactive = ::isatty(STDIN_FILENO);
  while (true) {
    if (interactive) {
      std::fprintf(stdout, "> ");
      std::fflush(stdout);
    }
    std::string line;
    g_interrupted = 0;
    if (!std::getline(std::cin, line) || g_interrupted) break;
    if (line.empty()) continue;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      history = nlohmann::ordered_json::array();
      std::fprintf(stderr, "(conversation cleared)\n");
      continue;
    }
    if (line.rfind("/system", 0) == 0) {
      system = line.size() > 8 ? line.substr(8) : "";
      history = nlohmann::ordered_json::array();
      std::fprintf(stderr, "(system message %s; conversation cleared)\n", system.empty() ? "removed" : "set");
      continue;
    }
    if (line.rfind("/temp", 0) == 0) {
      try {  // a bad value leaves the temperature as it was (-1 and nan used to stick, every turn failing)
        size_t used = 0;
        const std::string value = line.substr(5);
        const float t = std::stof(value, &used);
        if (!(t >= 0) || !std::isfinite(t) || value.find_first_not_of(" \t", used) != std::string::npos)
          throw std::invalid_argument("not a temperature");
        temperature = t;
        std::fprintf(stderr, "(temperature %g)\n", temperature);
      } catch (const std::exception&) {
        std::fprintf(stderr, "usage: /temp T (a finite number >= 0); the temperature stays %g\n", temperature);
      }
      continue;
    }
    if (line[0] == '/') {
      std::fprintf(stderr, "unknown command %s (/reset, /system TEXT, /temp T, /quit)\n", line.c_str());
      continue;
    }
    history.push_back({{"role", "user"}, {"content", line}});
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
    for (const auto& m : history) messages.push_back(m);
    std::vector<int32_t> ids = encode_chat(*session->tokenizer, *session->chat_template, messages, true).ids;
    int64_t request = 0;
    try {
      infer::SamplingParams turn_params = reply;
      turn_params.temperature = temperature;
      turn_params.seed = args.seed + turn++;
      request = engine.add({ids, turn_params});
    } catch (const Error& e) {
      std::fprintf(stderr, "%s (try /reset)\n", e.what());
      history.erase(history.size() - 1);
      continue;
    }
    while (engine.step())
      if (g_interrupted) {
        engine.cancel_all();
        break;
      }
    std::fprintf(stdout, "\n");
    infer::GenerationResult r = engine.take(request);
    history.push_back({{"role", "assistant"}, {"content", r.samples[0].text}});
    if (g_interrupted) std::fprintf(stderr, "(stopped)\n");
  }
  std::fprintf(stdout, "\n");
}

}  // namespace

void register_chat(CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  auto* cmd = app.add_subcommand("chat", "interactive chat with a model (streams tokens)");
  cmd->add_option("--model", args->model, "checkpoint directory with tokenizer and chat template")->required();
  cmd->add_option("--system", args->system, "system message");
  // The flags the model's generation_config.json may give a default for (SamplingParams' field names).
  const std::vector<std::pair<std::string, CLI::Option*>> model_default_flags = {
      {"temperature", cmd->add_option("--temperature", args->temperature,
                                      "sampling temperature (0 = greedy); default 0.7, or the model's generation_config.json")},
      {"top_p", cmd->add_option("--top-p", args->top_p, "nucleus sampling mass; default 0.95, or the model's")},
      {"max_new_tokens", cmd->add_option("--max-new-tokens", args->max_new_tokens, "longest reply; default 512, or the model's")}};
  cmd->add_option("--generation-config", args->generation_config,
                  "'auto' (default): the model's generation_config.json gives temperature, top_p, top_k, min_p, "
                  "repetition_penalty and max_new_tokens where it sets them and a flag does not (as vLLM's chat "
                  "server); 'vllm': ignore it; a folder: its generation_config.json");
  cmd->add_option("--seed", args->seed, "seed of the first reply (then +1 per turn)")->check(unsigned_64());
  cmd->add_option("--precision", args->precision, kPrecisionHelp);
  add_device_option(cmd, args->device);
  cmd->callback([args, model_default_flags] {
    args->given = given_fields(model_default_flags);
    run_chat(*args);
  });
}

}  // namespace tt::cli
