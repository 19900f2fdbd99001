#include "text/jinja_lexer.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "text/jinja_value.h"

namespace tt::jinja {

SourceInfo::SourceInfo(std::string name_, const std::string& source) : name(std::move(name_)) {
  line_starts.push_back(0);
  for (size_t i = 0; i < source.size(); ++i)
    if (source[i] == '\n') line_starts.push_back(i + 1);
}

std::string SourceInfo::where(size_t offset) const {
  auto it = std::upper_bound(line_starts.begin(), line_starts.end(), offset);
  size_t line = static_cast<size_t>(it - line_starts.begin());
  size_t col = offset - line_starts[line - 1] + 1;
  return fmt::format("{}:{}:{}", name, line, col);
}

std::string normalize_source(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

namespace {

// Length of the Python-whitespace (\s) run starting at pos (UTF-8 aware).
size_t space_run(const std::string& s, size_t pos) {
  size_t i = pos;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (!is_py_space(c)) break;
      ++i;
      continue;
    }
    size_t len = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    char32_t cp = utf8_decode(s.substr(i, len))[0];
    if (!is_py_space(cp)) break;
    i += len;
  }
  return i - pos;
}

// text.rstrip() with Python's whitespace.
std::string rstrip(const std::string& text) { return py_strip(text, false, true); }

class Lexer {
 public:
  Lexer(const std::string& src, const SourceInfo& info) : src_(src), info_(info) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) lex_root();
    tokens_.push_back({TokenType::End, "", src_.size()});
    return std::move(tokens_);
  }

 private:
  const std::string& src_;
  const SourceInfo& info_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
  // jinja2 sets this after every regex match: did the matched text end with a newline? lstrip_blocks
  // applies to text at the very start of a line even when the text holds no newline of its own.
  bool line_starting_ = true;

  [[noreturn]] void error(size_t offset, const std::string& what) {
    fail("{}: template syntax error: {}", info_.where(offset), what);
  }

  bool at(size_t p, const char* s) const { return src_.compare(p, std::strlen(s), s) == 0; }

  // Emits the text before a tag, applying '-' (strip all whitespace) or lstrip_blocks.
  void emit_text_before_tag(std::string text, size_t text_offset, char sign, bool is_variable) {
    if (sign == '-') {
      text = rstrip(text);
    } else if (sign != '+' && !is_variable) {
      size_t l_pos = text.rfind('\n');
      l_pos = l_pos == std::string::npos ? 0 : l_pos + 1;
      if (l_pos > 0 || line_starting_) {
        bool only_blanks = text.find_first_not_of(" \t", l_pos) == std::string::npos;
        if (only_blanks) text.resize(l_pos);
      }
    }
    if (!text.empty()) tokens_.push_back({TokenType::Data, std::move(text), text_offset});
  }

  // Matches a block end at p: "+%}" | "-%}\s*" | "%}\n?". Returns the match length or 0.
  size_t match_block_end(size_t p) const {
    if (at(p, "+%}")) return 3;
    if (at(p, "-%}")) return 3 + space_run(src_, p + 3);
    if (at(p, "%}")) return p + 2 < src_.size() && src_[p + 2] == '\n' ? 3 : 2;
    return 0;
  }
  size_t match_variable_end(size_t p) const {
    if (at(p, "-}}")) return 3 + space_run(src_, p + 3);
    if (at(p, "}}")) return 2;
    return 0;
  }

  void lex_root() {
    size_t tag = pos_;
    while (true) {
      tag = src_.find('{', tag);
      if (tag == std::string::npos || tag + 1 >= src_.size()) {
        tokens_.push_back({TokenType::Data, src_.substr(pos_), pos_});
        pos_ = src_.size();
        return;
      }
      char next = src_[tag + 1];
      if (next == '{' || next == '%' || next == '#') break;
      ++tag;
    }
    char kind = src_[tag + 1];
    char sign = tag + 2 < src_.size() && (src_[tag + 2] == '-' || src_[tag + 2] == '+') ? src_[tag + 2] : 0;
    emit_text_before_tag(src_.substr(pos_, tag - pos_), pos_, sign, kind == '{');
    size_t body = tag + 2 + (sign ? 1 : 0);
    if (kind == '#') return lex_comment(tag, body);
    if (kind == '%' && lex_raw(tag, body)) return;
    lex_tag(tag, body, kind == '%');
  }

  void lex_comment(size_t tag, size_t body) {
    size_t close = src_.find("#}", body);
    if (close == std::string::npos) error(tag, "missing end of comment tag");
    size_t end;
    if (close > body && src_[close - 1] == '-') {
      end = close + 2 + space_run(src_, close + 2);
    } else if (close > body && src_[close - 1] == '+') {
      end = close + 2;
    } else {
      end = close + 2 + (close + 2 < src_.size() && src_[close + 2] == '\n' ? 1 : 0);
    }
    line_starting_ = src_[end - 1] == '\n';
    pos_ = end;
  }

  // {% raw %}...{% endraw %}: the body is data, verbatim. Returns false if the tag is not "raw".
  bool lex_raw(size_t tag, size_t body) {
    size_t p = body + space_run(src_, body);
    if (!at(p, "raw")) return false;
    p += 3;
    p += space_run(src_, p);
    size_t open_end;
    if (at(p, "-%}")) open_end = p + 3 + space_run(src_, p + 3);
    else if (at(p, "%}")) open_end = p + 2;  // jinja2 applies no trim_blocks to "raw" itself
    else return false;
    // Find "{%[-+]? \s* endraw \s* (+%}|-%}\s*|%}\n?)".
    size_t search = open_end;
    while (true) {
      size_t start = src_.find("{%", search);
      if (start == std::string::npos) error(tag, "missing end of raw directive");
      char sign = start + 2 < src_.size() && (src_[start + 2] == '-' || src_[start + 2] == '+') ? src_[start + 2] : 0;
      size_t q = start + 2 + (sign ? 1 : 0);
      q += space_run(src_, q);
      if (at(q, "endraw")) {
        q += 6;
        q += space_run(src_, q);
        size_t end_len = match_block_end(q);
        if (end_len) {
          line_starting_ = src_[open_end - 1] == '\n';
          emit_text_before_tag(src_.substr(open_end, start - open_end), open_end, sign, false);
          pos_ = q + end_len;
          line_starting_ = src_[pos_ - 1] == '\n';
          return true;
        }
      }
      search = start + 2;
    }
  }

  void lex_tag(size_t tag, size_t body, bool is_block) {
    tokens_.push_back({is_block ? TokenType::BlockBegin : TokenType::VariableBegin, "", tag});
    std::vector<char> balance;  // open brackets: the tag cannot end inside them
    size_t p = body;
    while (true) {
      if (p >= src_.size()) error(tag, is_block ? "unexpected end of template, expected '%}'" : "unexpected end of template, expected '}}'");
      if (balance.empty()) {
        size_t end_len = is_block ? match_block_end(p) : match_variable_end(p);
        if (end_len) {
          tokens_.push_back({is_block ? TokenType::BlockEnd : TokenType::VariableEnd, "", p});
          pos_ = p + end_len;
          line_starting_ = src_[pos_ - 1] == '\n';
          return;
        }
      }
      if (size_t ws = space_run(src_, p)) {
        p += ws;
        continue;
      }
      char c = src_[p];
      if (std::isdigit(static_cast<unsigned char>(c))) {
        p = lex_number(p);
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t q = p;
        while (q < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[q])) || src_[q] == '_')) ++q;
        tokens_.push_back({TokenType::Name, src_.substr(p, q - p), p});
        p = q;
      } else if (c == '\'' || c == '"') {
        p = lex_string(p);
      } else {
        static const char* const ops[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "*", "/", "%", "~", "[", "]",
                                          "(", ")", "{", "}", "<", ">", "=", ".", ":", "|", ",", ";"};
        const char* found = nullptr;
        for (const char* op : ops)
          if (at(p, op)) {
            found = op;
            break;
          }
        if (!found) error(p, fmt::format("unexpected char '{}'", c));
        std::string op = found;
        if (op == "(" || op == "[" || op == "{") balance.push_back(op[0]);
        if (op == ")" || op == "]" || op == "}") {
          char want = op == ")" ? '(' : op == "]" ? '[' : '{';
          if (balance.empty()) error(p, fmt::format("unexpected '{}'", op));
          if (balance.back() != want) error(p, fmt::format("unexpected '{}'", op));
          balance.pop_back();
        }
        tokens_.push_back({TokenType::Operator, op, p});
        p += op.size();
      }
    }
  }

  size_t digits_run(size_t p) const {  // (\d+_)*\d+
    size_t q = p;
    while (q < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[q])) ||
                               (src_[q] == '_' && q + 1 < src_.size() && std::isdigit(static_cast<unsigned char>(src_[q + 1])) && q > p)))
      ++q;
    return q - p;
  }

  size_t lex_number(size_t p) {
    size_t q = p + digits_run(p);
    bool is_float = false;
    if (q + 1 < src_.size() && src_[q] == '.' && std::isdigit(static_cast<unsigned char>(src_[q + 1]))) {
      q += 1 + digits_run(q + 1);
      is_float = true;
    }
    if (q < src_.size() && (src_[q] == 'e' || src_[q] == 'E')) {
      size_t r = q + 1;
      if (r < src_.size() && (src_[r] == '+' || src_[r] == '-')) ++r;
      if (size_t d = digits_run(r)) {
        q = r + d;
        is_float = true;
      }
    }
    std::string text = src_.substr(p, q - p);
    text.erase(std::remove(text.begin(), text.end(), '_'), text.end());
    tokens_.push_back({is_float ? TokenType::Float : TokenType::Integer, text, p});
    return q;
  }

  // A quoted string, decoded as Python's "unicode-escape" codec decodes it (jinja2 does exactly that).
  size_t lex_string(size_t p) {
    char quote = src_[p];
    std::string out;
    size_t q = p + 1;
    auto hex = [&](size_t at_, size_t n) -> char32_t {
      if (at_ + n > src_.size()) error(at_, "truncated \\x/\\u escape in string");
      char32_t v = 0;
      for (size_t i = 0; i < n; ++i) {
        char h = src_[at_ + i];
        if (!std::isxdigit(static_cast<unsigned char>(h))) error(at_, "truncated \\x/\\u escape in string");
        v = v * 16 + static_cast<char32_t>(std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      return v;
    };
    while (true) {
      if (q >= src_.size()) error(p, "unterminated string");
      char c = src_[q];
      if (c == quote) break;
      if (c != '\\') {
        out += c;
        ++q;
        continue;
      }
      if (q + 1 >= src_.size()) error(p, "unterminated string");
      char e = src_[q + 1];
      q += 2;
      switch (e) {
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case 'a': out += '\a'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'v': out += '\v'; break;
        case '\n': break;  // line continuation
        case 'x': utf8_append(out, hex(q, 2)); q += 2; break;
        case 'u': utf8_append(out, hex(q, 4)); q += 4; break;
        case 'U': utf8_append(out, hex(q, 8)); q += 8; break;
        case 'N': error(q - 2, "\\N{...} escapes are not supported");
        default:
          if (e >= '0' && e <= '7') {
            char32_t v = static_cast<char32_t>(e - '0');
            for (int i = 0; i < 2 && q < src_.size() && src_[q] >= '0' && src_[q] <= '7'; ++i, ++q) v = v * 8 + static_cast<char32_t>(src_[q] - '0');
            utf8_append(out, v);
          } else {
            out += '\\';
            out += e;
          }
      }
    }
    tokens_.push_back({TokenType::String, out, p});
    return q + 1;
  }
};

}  // namespace

std::vector<Token> tokenize(const std::string& source, const SourceInfo& info) { return Lexer(source, info).run(); }

}  // namespace tt::jinja
