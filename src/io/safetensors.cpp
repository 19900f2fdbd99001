#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

#include <fcntl.h>
#include <immintrin.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/bf16.h"
#include "core/error.h"
#include "io/file_internal.h"

namespace tt {

using ojson = nlohmann::ordered_json;  // keeps the header's tensor order

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::BF16: return "BF16";
    case DType::F16: return "F16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
  }
  return "?";
}

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::F16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
  }
  return 0;
}

namespace {

bool parse_dtype(const std::string& name, DType* out) {
  for (DType d : {DType::F32, DType::BF16, DType::F16, DType::I32, DType::I64}) {
    if (name == dtype_name(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

bool is_float(DType d) { return d == DType::F32 || d == DType::BF16 || d == DType::F16; }


// numel * elem_size, or false on overflow (a hostile header can claim absurd shapes).
bool checked_bytes(const std::vector<int64_t>& shape, size_t elem_size, uint64_t* out) {
  unsigned __int128 total = elem_size;
  for (int64_t d : shape) {
    total *= static_cast<uint64_t>(d);
    if (total > std::numeric_limits<uint64_t>::max()) return false;
  }
  *out = static_cast<uint64_t>(total);
  return true;
}

}  // namespace


int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::string& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open ({})", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string reason = std::strerror(errno);
    ::close(fd);
    fail("{}: cannot stat ({})", path, reason);
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    fail("{}: not a safetensors file: {} bytes, shorter than the 8-byte header length", path, size);
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);  // the mapping keeps the file alive
  if (map == MAP_FAILED) fail("{}: mmap failed ({})", path, std::strerror(errno));
  mapping_ = static_cast<const uint8_t*>(map);
  mapping_size_ = size;
  try {
    parse_header();
  } catch (...) {
    ::munmap(const_cast<uint8_t*>(mapping_), mapping_size_);
    throw;
  }
}

void SafetensorsFile::parse_header() {
  const std::string& path = path_;
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | mapping_[i];  // little-endian
  if (header_len > mapping_size_ - 8)
    fail("{}: header length {} is larger than the file ({} bytes)", path, header_len, mapping_size_);
  data_start_ = 8 + header_len;
  uint64_t data_size = mapping_size_ - data_start_;

  ojson header;
  try {
    header = ojson::parse(mapping_ + 8, mapping_ + 8 + header_len);
  } catch (const ojson::parse_error& e) {
    fail("{}: invalid header JSON (byte {})", path, e.byte);
  } catch (const ojson::exception& e) {  // e.g. a number that overflows
    fail("{}: invalid header JSON: {}", path, e.what());
  }
  if (!header.is_object()) fail("{}: header is not a JSON object", path);

  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) fail("{}: __metadata__ is not an object", path);
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) fail("{}: __metadata__ value '{}' is not a string", path, key);
        metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object()) fail("{}: tensor {}: entry is not an object", path, name);
    for (const char* field : {"dtype", "shape", "data_offsets"})
      if (!entry.contains(field)) fail("{}: tensor {}: missing '{}'", path, name, field);

    TensorInfo info;
    info.name = name;
    const auto& dtype = entry["dtype"];
    if (!dtype.is_string()) fail("{}: tensor {}: 'dtype' is not a string", path, name);
    if (!parse_dtype(dtype.get<std::string>(), &info.dtype))
      fail("{}: tensor {}: unknown dtype '{}' (supported: F32, BF16, F16, I32, I64)", path, name,
           dtype.get<std::string>());

    const auto& shape = entry["shape"];
    if (!shape.is_array()) fail("{}: tensor {}: 'shape' is not an array", path, name);
    for (const auto& d : shape) {
      if (!d.is_number_integer()) fail("{}: tensor {}: shape {} has a non-integer entry", path, name, shape.dump());
      if (d.get<int64_t>() < 0) fail("{}: tensor {}: shape {} has a negative dimension", path, name, shape.dump());
      info.shape.push_back(d.get<int64_t>());
    }

    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      fail("{}: tensor {}: data_offsets {} is not [begin, end] with non-negative integers", path, name,
           offsets.dump());
    info.begin = offsets[0].get<uint64_t>();
    info.end = offsets[1].get<uint64_t>();
    if (info.begin > info.end)
      fail("{}: tensor {}: data_offsets [{}, {}] has begin > end", path, name, info.begin, info.end);
    if (info.end > data_size)
      fail("{}: tensor {}: data_offsets end {} is beyond the data section ({} bytes)", path, name, info.end,
           data_size);
    uint64_t bytes = 0;
    bool fits = checked_bytes(info.shape, dtype_size(info.dtype), &bytes);
    if (!fits || bytes != info.end - info.begin)
      fail("{}: tensor {}: data_offsets span {} bytes but shape {} of {} needs {}", path, name,
           info.end - info.begin, shape.dump(), dtype_name(info.dtype),
           fits ? std::to_string(bytes) : std::string("more than 2^64"));
    tensors_.push_back(std::move(info));
  }

  // Overlap check: sort the byte ranges; each non-empty one must start at or after the previous end.
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors_)
    if (t.end > t.begin) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i]->begin < by_offset[i - 1]->end)
      fail("{}: tensors {} and {} overlap (bytes [{}, {}) and [{}, {}))", path, by_offset[i - 1]->name,
           by_offset[i]->name, by_offset[i - 1]->begin, by_offset[i - 1]->end, by_offset[i]->begin,
           by_offset[i]->end);
  // The format (and the safetensors library, which refuses such a file: InvalidOffset,
  // MetadataIncompleteBuffer) indexes the whole data section, without holes: bytes that no tensor
  // owns are a damaged or polyglot file, which loaded here while transformers refused it.
  uint64_t covered = 0;
  for (const TensorInfo* t : by_offset) {
    if (t->begin != covered)
      fail("{}: tensor {} starts at byte {} of the data section, not at {} where the tensor before it ends "
           "(bytes that no tensor owns; the safetensors library refuses the file)", path, t->name, t->begin, covered);
    covered = t->end;
  }
  if (covered != data_size)
    fail("{}: the data section holds {} bytes after its last tensor, which ends at byte {} of {} (the safetensors "
         "library refuses the file)", path, data_size - covered, covered, data_size);
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_) ::munmap(const_cast<uint8_t*>(mapping_), mapping_size_);
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

const TensorInfo& SafetensorsFile::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) fail("{}: missing tensor {}", path_, name);
  return *t;
}

const uint8_t* SafetensorsFile::data(const TensorInfo& info) const { return mapping_ + data_start_ + info.begin; }

void SafetensorsFile::read_f32(const std::string& name, float* dst, const std::vector<int64_t>& expected_shape) const {
  const TensorInfo& info = get(name);
  if (!expected_shape.empty() && expected_shape != info.shape)
    fail("{}: tensor {} has shape [{}], expected [{}]", path_, name, fmt::join(info.shape, ", "),
         fmt::join(expected_shape, ", "));
  const uint8_t* src = data(info);
  size_t n = static_cast<size_t>(info.numel());
  // The data section need not be aligned, so every load is unaligned-safe (memcpy / loadu).
  switch (info.dtype) {
    case DType::F32:
      std::memcpy(dst, src, n * 4);
      break;
    case DType::BF16: {
      size_t i = 0;
      for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
        __m256i w = _mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16);
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(w));
      }
      for (; i < n; ++i) {
        uint16_t b;
        std::memcpy(&b, src + 2 * i, 2);
        dst[i] = bf16_to_f32(b);
      }
      break;
    }
    case DType::F16: {
      size_t i = 0;
      for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
      for (; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = f16_to_f32(h);
      }
      break;
    }
    default:
      fail("{}: tensor {} has dtype {}, expected a float dtype (F32, BF16, F16)", path_, name,
           dtype_name(info.dtype));
  }
}

std::vector<int64_t> SafetensorsFile::read_i64(const std::string& name) const {
  const TensorInfo& info = get(name);
  const uint8_t* src = data(info);
  size_t n = static_cast<size_t>(info.numel());
  std::vector<int64_t> out(n);
  if (info.dtype == DType::I64) {
    std::memcpy(out.data(), src, n * 8);
  } else if (info.dtype == DType::I32) {
    for (size_t i = 0; i < n; ++i) {
      int32_t v;
      std::memcpy(&v, src + 4 * i, 4);
      out[i] = v;
    }
  } else {
    fail("{}: tensor {} has dtype {}, expected an integer dtype (I32, I64)", path_, name, dtype_name(info.dtype));
  }
  return out;
}

namespace {

size_t tensor_numel(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  return n;
}

// Converts `n` values of one tensor to its dtype and streams them out in bounded chunks.
void write_tensor_data(AtomicFile& file, const std::string& path, const TensorToWrite& t, size_t n) {
  constexpr size_t kChunk = 1 << 16;  // elements per conversion buffer
  std::vector<uint8_t> buffer;
  for (size_t start = 0; start < n; start += kChunk) {
    size_t count = std::min(kChunk, n - start);
    buffer.resize(count * dtype_size(t.dtype));
    uint8_t* out = buffer.data();
    switch (t.dtype) {
      case DType::F32:
        std::memcpy(out, t.f32 + start, count * 4);
        break;
      case DType::BF16:
        for (size_t i = 0; i < count; ++i) {
          uint16_t b = f32_to_bf16(t.f32[start + i]);
          std::memcpy(out + 2 * i, &b, 2);
        }
        break;
      case DType::F16: {
        size_t i = 0;
        for (; i + 8 <= count; i += 8) {
          __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(t.f32 + start + i), _MM_FROUND_TO_NEAREST_INT);
          _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * i), h);
        }
        for (; i < count; ++i) {
          uint16_t h = f32_to_f16(t.f32[start + i]);
          std::memcpy(out + 2 * i, &h, 2);
        }
        break;
      }
      case DType::I64:
        std::memcpy(out, t.i64 + start, count * 8);
        break;
      case DType::I32:
        for (size_t i = 0; i < count; ++i) {
          int64_t v = t.i64[start + i];
          if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
            fail("{}: tensor {}: value {} does not fit in I32", path, t.name, v);
          int32_t w = static_cast<int32_t>(v);
          std::memcpy(out + 4 * i, &w, 4);
        }
        break;
    }
    file.write(out, buffer.size());
  }
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  ojson header = ojson::object();
  if (!metadata.empty()) {
    ojson meta = ojson::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = meta;
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    if (t.name.empty() || t.name == "__metadata__") fail("{}: invalid tensor name '{}'", path, t.name);
    if (header.contains(t.name)) fail("{}: tensor {} given twice", path, t.name);
    for (int64_t d : t.shape)
      if (d < 0) fail("{}: tensor {}: negative dimension in shape [{}]", path, t.name, fmt::join(t.shape, ", "));
    uint64_t bytes = 0;
    if (!checked_bytes(t.shape, dtype_size(t.dtype), &bytes)) fail("{}: tensor {}: shape too large", path, t.name);
    bool has_data = bytes == 0 || (is_float(t.dtype) ? t.f32 != nullptr : t.i64 != nullptr);
    if (!has_data)
      fail("{}: tensor {}: dtype {} needs {} data", path, t.name, dtype_name(t.dtype),
           is_float(t.dtype) ? "f32" : "i64");
    header[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data then starts 8-byte aligned

  AtomicFile file(path);
  uint8_t len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
  file.write(len, 8);
  file.write(text.data(), text.size());
  for (const auto& t : tensors) write_tensor_data(file, path, t, tensor_numel(t.shape));
  file.commit();
}

}  // namespace tt
