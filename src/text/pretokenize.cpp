#include "text/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <deque>

#include "core/error.h"

namespace tt {

const char* const kGpt2SplitPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
const char* const kLlama3SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

// \s -> \p{White_Space}, \S -> \P{White_Space}; every other escape is copied untouched. The
// replacement is valid both inside and outside character classes.
std::string rewrite_whitespace_class(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char next = pattern[++i];
      if (next == 's') {
        out += "\\p{White_Space}";
      } else if (next == 'S') {
        out += "\\P{White_Space}";
      } else {
        out += c;
        out += next;
      }
    } else {
      out += c;
    }
  }
  return out;
}

// Per-thread match state: match data (one ovector pair is all we read) and a JIT stack big
// enough for long whitespace runs (the default 32 KiB can overflow on `\s+(?!\S)` backtracking).
struct MatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* jit_stack = nullptr;
  MatchState() {
    data = pcre2_match_data_create(1, nullptr);
    context = pcre2_match_context_create(nullptr);
    jit_stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(context, nullptr, jit_stack);
  }
  ~MatchState() {
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(context);
    pcre2_match_data_free(data);
  }
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

}  // namespace

std::shared_ptr<const Regex> Regex::compile(std::string_view pattern, std::string_view where, bool literal) {
  std::string source = literal ? std::string(pattern) : rewrite_whitespace_class(pattern);
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF;
  if (literal) options |= PCRE2_LITERAL;
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.data()), source.size(), options,
                                   &error, &offset, nullptr);
  if (!code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    fail("{}: regex does not compile at offset {}: {}", where, offset, reinterpret_cast<const char*>(message));
  }
  // JIT is an optimisation only: if it is unavailable, pcre2_match falls back to the interpreter.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::shared_ptr<Regex> regex(new Regex());
  regex->code_ = code;
  return regex;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

bool Regex::find(std::string_view text, size_t start, size_t* match_begin, size_t* match_end) const {
  MatchState& state = match_state();
  int rc = pcre2_match(static_cast<const pcre2_code*>(code_), reinterpret_cast<PCRE2_SPTR>(text.data()),
                       text.size(), start, 0, state.data, state.context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(rc, message, sizeof message);
    fail("regex match failed: {}", reinterpret_cast<const char*>(message));
  }
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.data);
  *match_begin = ovector[0];
  *match_end = ovector[1];
  return true;
}

namespace {

// Length of the UTF-8 character (or single invalid byte) at s[i], to step past empty matches.
size_t char_len(std::string_view s, size_t i) {
  auto b = static_cast<uint8_t>(s[i]);
  size_t n = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
  return std::min(n, s.size() - i);
}

// Splits `text` with `regex` per `behavior`, calling `emit` for each non-empty piece.
template <typename Emit>
void split_with(const Regex& regex, SplitBehavior behavior, std::string_view text, Emit&& emit) {
  size_t gap_start = 0;  // start of the text not yet emitted
  size_t pos = 0;
  size_t pending_begin = std::string_view::npos;  // MergedWithNext: a match waiting for its gap
  size_t mb, me;
  while (pos < text.size() && regex.find(text, pos, &mb, &me)) {
    if (me == mb) {  // empty match: contributes nothing, step one character
      pos = mb + char_len(text, mb);
      continue;
    }
    switch (behavior) {
      case SplitBehavior::Isolated:
        if (mb > gap_start) emit(text.substr(gap_start, mb - gap_start));
        emit(text.substr(mb, me - mb));
        break;
      case SplitBehavior::Removed:
        if (mb > gap_start) emit(text.substr(gap_start, mb - gap_start));
        break;
      case SplitBehavior::MergedWithPrevious:
        emit(text.substr(gap_start, me - gap_start));
        break;
      case SplitBehavior::MergedWithNext:
        if (pending_begin != std::string_view::npos) {
          emit(text.substr(pending_begin, mb - pending_begin));
        } else if (mb > gap_start) {
          emit(text.substr(gap_start, mb - gap_start));
        }
        pending_begin = mb;
        break;
    }
    gap_start = me;
    pos = me;
  }
  if (pending_begin != std::string_view::npos) {
    emit(text.substr(pending_begin));
  } else if (gap_start < text.size()) {
    emit(text.substr(gap_start));
  }
}

struct Runner {
  const std::vector<PreTokenizeStep>& steps;
  const PieceSink& sink;
  std::deque<std::string>& arena;  // owns pieces that got a prefix space (stable addresses)

  void run(size_t step_index, std::string_view piece, PiecePlace place) {
    if (piece.empty()) return;
    if (step_index == steps.size()) {
      sink(piece, place);
      return;
    }
    const PreTokenizeStep& step = steps[step_index];
    if (step.kind == PreTokenizeStep::Kind::ByteLevel && step.add_prefix_space && piece.front() != ' ') {
      // HF prepends the space to every piece reaching this step, not only to the first one.
      std::string& owned = arena.emplace_back();
      owned.reserve(piece.size() + 1);
      owned += ' ';
      owned += piece;
      piece = owned;
      ++place.shift;
    }
    if (!step.regex) {
      run(step_index + 1, piece, place);
      return;
    }
    split_with(*step.regex, step.behavior, piece, [&](std::string_view sub) {
      // Sub-pieces are views of `piece`: their place follows from where they start in it.
      auto q = static_cast<size_t>(sub.data() - piece.data());
      PiecePlace sub_place = place;
      if (q >= place.shift) {
        sub_place.origin += q - place.shift;
        sub_place.shift = 0;
      } else {
        sub_place.shift -= q;
      }
      run(step_index + 1, sub, sub_place);
    });
  }
};

}  // namespace

void pre_tokenize(const std::vector<PreTokenizeStep>& steps, std::string_view text, const PieceSink& sink) {
  std::deque<std::string> arena;
  Runner{steps, sink, arena}.run(0, text, PiecePlace{});
}

}  // namespace tt
