#include "text/special_ids.h"

#include <algorithm>
#include <filesystem>

#include "io/file.h"
#include "text/chat_template.h"

namespace tt {

TokenizerSpecialIds tokenizer_special_ids(const Tokenizer& tokenizer, const std::string& tokenizer_path) {
  namespace fs = std::filesystem;
  TokenizerSpecialIds ids;
  auto add_eos = [&](int32_t id) {
    if (id >= 0 && std::find(ids.eos.begin(), ids.eos.end(), id) == ids.eos.end()) ids.eos.push_back(id);
  };
  const std::string dir =
      fs::is_directory(tokenizer_path) ? tokenizer_path : fs::path(tokenizer_path).parent_path().string();
  if (file_exists(dir + "/tokenizer_config.json")) {
    const auto special = ChatTemplate::from_tokenizer_config(dir).special_tokens();
    if (special.contains("eos_token") && special["eos_token"].is_string())
      add_eos(tokenizer.token_to_id(special["eos_token"].get<std::string>()));
    if (special.contains("pad_token") && special["pad_token"].is_string())
      ids.pad = tokenizer.token_to_id(special["pad_token"].get<std::string>());
  }
  for (int32_t id : tokenizer.eos_ids()) add_eos(id);
  ids.bos = tokenizer.bos_id();
  return ids;
}

}  // namespace tt
