// `tinythink tokenize` / `tinythink detokenize`: text <-> ids through a tokenizer, via stdin.
#include <cctype>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "core/error.h"
#include "text/tokenizer.h"

namespace tt::cli {

namespace {

std::string read_stdin() {
  std::ios::sync_with_stdio(false);
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

void write_stdout(std::string_view text) {
  if (!text.empty() && std::fwrite(text.data(), 1, text.size(), stdout) != text.size()) fail("cannot write to stdout");
  std::fflush(stdout);
}

struct TokenizeOptions {
  std::string tokenizer;
  bool bos = false;
  bool ids_only = false;
  bool no_special = false;
};

void run_tokenize(const TokenizeOptions& o) {
  Tokenizer tok = Tokenizer::load(o.tokenizer);
  std::string text = read_stdin();
  std::vector<int32_t> ids = tok.encode(text, EncodeOptions{.add_bos = o.bos, .allow_special = !o.no_special});
  std::string out;
  if (o.ids_only) {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) out += ' ';
      out += std::to_string(ids[i]);
    }
    out += '\n';
  } else {
    // One token per line: id, then the token as HF spells it (byte-level form, e.g. "Ġthe").
    for (int32_t id : ids) out += fmt::format("{}\t{}\n", id, tok.id_to_token(id));
    out += fmt::format("# {} tokens, {} bytes\n", ids.size(), text.size());
  }
  write_stdout(out);
}

void run_detokenize(const std::string& tokenizer, bool skip_special) {
  Tokenizer tok = Tokenizer::load(tokenizer);
  std::string input = read_stdin();
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < input.size()) {
    if (std::isspace(static_cast<unsigned char>(input[i]))) {
      ++i;
      continue;
    }
    size_t start = i;
    int64_t value = 0;
    bool negative = input[i] == '-';
    if (negative) ++i;
    size_t digits = 0;
    while (i < input.size() && input[i] >= '0' && input[i] <= '9') {
      if (digits++ < 11) value = value * 10 + (input[i] - '0');
      ++i;
    }
    if (digits == 0 || (i < input.size() && !std::isspace(static_cast<unsigned char>(input[i])))) {
      size_t end = input.find_first_of(" \t\r\n", start);
      fail("detokenize: '{}' on stdin is not a token id", input.substr(start, end == std::string::npos ? 20 : end - start));
    }
    if (negative) value = -value;
    if (value > INT32_MAX || value < INT32_MIN)
      fail("detokenize: '{}' on stdin is out of the range of token ids", input.substr(start, std::min<size_t>(i - start, 24)));
    ids.push_back(static_cast<int32_t>(value));
  }
  write_stdout(tok.decode(ids, skip_special));
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto options = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "encode all of stdin as one text and print its token ids");
  cmd->add_option("--tokenizer", options->tokenizer, "tokenizer.json, tokenizer.model or a model directory")->required();
  cmd->add_flag("--bos", options->bos, "add the beginning-of-text token (the post-processor template)");
  cmd->add_flag("--ids-only", options->ids_only, "print only the ids, on one line separated by spaces");
  cmd->add_flag("--no-special", options->no_special, "encode special-token text (e.g. <|eot_id|>) as plain text");
  cmd->callback([options] { run_tokenize(*options); });

  auto detok_tokenizer = std::make_shared<std::string>();
  auto skip_special = std::make_shared<bool>(false);
  CLI::App* detok = app.add_subcommand("detokenize", "read whitespace-separated token ids from stdin and write the text");
  detok->add_option("--tokenizer", *detok_tokenizer, "tokenizer.json, tokenizer.model or a model directory")->required();
  detok->add_flag("--skip-special", *skip_special, "leave out special tokens");
  detok->callback([detok_tokenizer, skip_special] { run_detokenize(*detok_tokenizer, *skip_special); });
}

}  // namespace tt::cli
