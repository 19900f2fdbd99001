#include "model/checkpoint.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include <fmt/ranges.h>

#include "core/error.h"
#include "core/log.h"
#include "core/rng.h"
#include "io/file.h"
#include "io/hub.h"
#include "model/finite_check.h"

namespace tt {

namespace fs = std::filesystem;

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {"tokenizer.json", "tokenizer_config.json",
                                                 "special_tokens_map.json", "tokenizer.model",
                                                 "chat_template.jinja"};
  return names;
}

namespace {

// The one big allocation; failure names what it was for instead of a bare std::bad_alloc.
void allocate_parameters(Model& model, const std::string& where) {
  try {
    model.params.resize(static_cast<size_t>(model.layout.total));
  } catch (const std::exception&) {
    fail("{}: {} parameters ({:.1f} GiB as fp32) do not fit in memory", where, model.layout.total,
         static_cast<double>(model.layout.total) * 4 / (1 << 30));
  }
}

}  // namespace

Model init_model(const ModelConfig& config, uint64_t seed) {
  Model model{config, make_parameter_layout(config), {}};
  allocate_parameters(model, config.architecture.empty() ? "init-model" : config.architecture);
  Rng rng(seed);
  const double std_dev = config.initializer_range;
  for (const auto& slot : model.layout.slots) {
    float* p = model.params.data() + slot.offset;
    for (int64_t i = 0; i < slot.numel; ++i) p[i] = slot.is_norm ? 1.0f : static_cast<float>(rng.normal() * std_dev);
  }
  return model;
}

namespace {

// tensor name -> the safetensors file holding it, for single-file and sharded checkpoints
std::map<std::string, std::string> weight_files(const std::string& dir) {
  std::map<std::string, std::string> files;
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  if (file_exists(single)) return {{"", single}};
  if (!file_exists(index)) fail("{}: no model.safetensors or model.safetensors.index.json", dir);
  auto json = read_json_file(index);
  if (!json.contains("weight_map") || !json["weight_map"].is_object())
    fail("{}: missing object 'weight_map'", index);
  for (auto& [name, file] : json["weight_map"].items()) {
    if (!file.is_string()) fail("{}: weight_map entry '{}' is not a string", index, name);
    if (!is_path_inside_its_folder(file.get<std::string>()))
      fail("{}: weight_map entry '{}' names '{}', which is not a file inside the model folder", index, name, file.get<std::string>());
    files[name] = dir + "/" + file.get<std::string>();
  }
  return files;
}

}  // namespace

Model load_model(const std::string& path) {
  const std::string dir = resolve_model_dir(path);
  Model model;
  model.config = load_model_config(dir + "/config.json");
  model.layout = make_parameter_layout(model.config);
  allocate_parameters(model, dir + "/config.json");
  auto files = weight_files(dir);
  std::map<std::string, std::unique_ptr<SafetensorsFile>> open;
  auto file_for = [&](const std::string& tensor) -> SafetensorsFile& {
    std::string file = files.count("") ? files[""] : "";
    if (file.empty()) {
      auto it = files.find(tensor);
      if (it == files.end()) fail("{}/model.safetensors.index.json: missing tensor {}", dir, tensor);
      file = it->second;
    }
    auto& slot = open[file];
    if (!slot) slot = std::make_unique<SafetensorsFile>(file);
    return *slot;
  };
  std::set<std::string> expected;
  for (const auto& slot : model.layout.slots) {
    expected.insert(slot.name);
    file_for(slot.name).read_f32(slot.name, model.params.data() + slot.offset, slot.shape);
  }
  for (const auto& [file, st] : open)
    for (const auto& info : st->tensors())
      if (!expected.count(info.name)) {
        if (info.name == "lm_head.weight" && model.config.tie_word_embeddings) {
          // A tied copy. The embedding is what the model uses (as transformers ties lm_head to it), so a
          // copy that differs was trained or edited apart from it: say so rather than drop it unseen.
          const TensorSlot& embed = *model.layout.find("model.embed_tokens.weight");
          std::string why;
          if (info.shape != embed.shape) {
            why = fmt::format("its shape [{}] is not the embedding's [{}]", fmt::join(info.shape, ", "),
                              fmt::join(embed.shape, ", "));
          } else {
            std::vector<float> copy(static_cast<size_t>(embed.numel));
            st->read_f32(info.name, copy.data(), embed.shape);
            double largest = 0;
            for (int64_t i = 0; i < embed.numel; ++i)
              largest = std::max(largest, std::fabs(static_cast<double>(copy[i]) - model.params[embed.offset + i]));
            if (largest > 0) why = fmt::format("it differs from model.embed_tokens.weight (by up to {:.3g})", largest);
          }
          if (!why.empty())
            log_warn("{}: tensor lm_head.weight is ignored: config.json ties the word embeddings, so the model's output "
                     "layer is model.embed_tokens.weight, and {}", file, why);
          continue;
        }
        log_warn("{}: tensor {} is not used by this architecture", file, info.name);
      }
  check_finite_parameters(model, files.count("") ? files[""] : dir + "/model.safetensors.index.json");
  if (const std::string path = dir + "/generation_config.json"; file_exists(path)) {
    const nlohmann::json generation = read_json_file(path);
    if (!generation.is_object()) fail("{}: expected a JSON object", path);
    model.generation_config = generation.dump(2) + "\n";
  }
  return model;
}

namespace {

void copy_tokenizer_files(const std::string& source, const std::string& dir) {
  const auto copy = [](const std::string& from, const std::string& to) {
    std::error_code ec;
    if (fs::equivalent(from, to, ec)) return;  // already there: a copy onto itself fails with "File exists"
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
  };
  if (fs::is_regular_file(source)) {  // stored under the name loaders look for, whatever it was called
    std::ifstream in(source, std::ios::binary);
    char first = 0;
    in >> first;  // as Tokenizer::load: JSON starts with '{', else a tiktoken tokenizer.model
    const char* name = fs::path(source).extension() == ".json" || first == '{' ? "tokenizer.json" : "tokenizer.model";
    copy(source, dir + "/" + name);
    return;
  }
  if (!fs::is_directory(source)) fail("{}: tokenizer not found", source);
  bool any = false;
  for (const auto& name : tokenizer_file_names())
    if (fs::exists(source + "/" + name)) {
      copy(source + "/" + name, dir + "/" + name);
      any = true;
    }
  if (!any) fail("{}: no tokenizer files (tokenizer.json, tokenizer.model)", source);
}

void fsync_path(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return;
  ::fsync(fileno(f));
  std::fclose(f);
}

}  // namespace

void write_model_files(const Model& model, const std::string& dir, const SaveOptions& options) {
  check_finite_parameters(model, "refusing to save " + dir);
  std::vector<TensorToWrite> tensors;
  for (const auto& slot : model.layout.slots)
    tensors.push_back({slot.name, options.dtype, slot.shape, model.params.data() + slot.offset, nullptr});
  std::map<std::string, std::string> metadata = options.metadata;
  metadata["format"] = "pt";
  write_safetensors(dir + "/model.safetensors", tensors, metadata);
  nlohmann::json config = config_to_json(model.config);
  config["torch_dtype"] = options.dtype == DType::BF16 ? "bfloat16" : "float32";
  write_json_file(dir + "/config.json", config);
  if (!model.generation_config.empty()) {
    write_file_atomic(dir + "/generation_config.json", model.generation_config);
  } else {
    nlohmann::json generation = {{"_from_model_config", true}};
    if (model.config.bos_token_id >= 0) generation["bos_token_id"] = model.config.bos_token_id;
    if (model.config.eos_token_ids.size() == 1) generation["eos_token_id"] = model.config.eos_token_ids[0];
    if (model.config.eos_token_ids.size() > 1) generation["eos_token_id"] = model.config.eos_token_ids;
    write_json_file(dir + "/generation_config.json", generation);
  }
  if (!options.tokenizer_source.empty()) copy_tokenizer_files(options.tokenizer_source, dir);
}

void save_model(const Model& model, const std::string& dir, const SaveOptions& options) {
  fs::path target = fs::absolute(dir);
  if (fs::exists(target) && !fs::is_directory(target))
    fail("{}: exists and is not a directory; a model is a directory and a file is never replaced", dir);
  fs::path temp = target.parent_path() / (target.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(temp);
  fs::create_directories(temp);
  try {  // a failed write (a full disk) leaves no half-written folder behind
    write_model_files(model, temp.string(), options);
    if (options.extra_files) options.extra_files(temp.string());
    for (const auto& entry : fs::recursive_directory_iterator(temp)) fsync_path(entry.path().string());
  } catch (const Error& e) {  // named by the folder asked for: the temporary one is gone
    std::error_code ec;
    fs::remove_all(temp, ec);
    std::string message = e.what();
    for (size_t at = 0; (at = message.find(temp.string(), at)) != std::string::npos; at += target.string().size())
      message.replace(at, temp.string().size(), target.string());
    throw Error(message);
  } catch (...) {
    std::error_code ec;
    fs::remove_all(temp, ec);
    throw;
  }
  // Swap in: the old directory (if any) is moved aside first, so `dir` is always whole or absent.
  fs::path old = target.parent_path() / (target.filename().string() + ".old-" + std::to_string(::getpid()));
  if (fs::exists(target)) fs::rename(target, old);
  fs::rename(temp, target);
  fsync_path(target.parent_path().string());
  fs::remove_all(old);
}

}  // namespace tt
