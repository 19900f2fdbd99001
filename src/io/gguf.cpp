#include "io/gguf.h"

#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "core/bf16.h"
#include "core/error.h"
#include "io/file.h"

namespace tt {

namespace {

constexpr uint32_t kGgufVersion = 3;
constexpr uint64_t kDefaultAlignment = 32;
constexpr size_t kQ8_0BlockBytes = 2 + kQ8_0BlockSize;

bool is_integer_type(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::U16: case GgufValueType::I16:
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::U64: case GgufValueType::I64:
      return true;
    default:
      return false;
  }
}

size_t scalar_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::BOOL: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    default: return 0;
  }
}

// --- writing ---------------------------------------------------------------------------------

class ByteWriter {
 public:
  template <typename T>
  void pod(T value) {
    out_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void string(const std::string& s) {
    pod<uint64_t>(s.size());
    out_ += s;
  }
  void number(GgufValueType t, int64_t i, double f) {
    switch (t) {
      case GgufValueType::U8: pod<uint8_t>(static_cast<uint8_t>(i)); break;
      case GgufValueType::I8: pod<int8_t>(static_cast<int8_t>(i)); break;
      case GgufValueType::U16: pod<uint16_t>(static_cast<uint16_t>(i)); break;
      case GgufValueType::I16: pod<int16_t>(static_cast<int16_t>(i)); break;
      case GgufValueType::U32: pod<uint32_t>(static_cast<uint32_t>(i)); break;
      case GgufValueType::I32: pod<int32_t>(static_cast<int32_t>(i)); break;
      case GgufValueType::U64: pod<uint64_t>(static_cast<uint64_t>(i)); break;
      case GgufValueType::I64: pod<int64_t>(i); break;
      case GgufValueType::F32: pod<float>(static_cast<float>(f)); break;
      case GgufValueType::F64: pod<double>(f); break;
      case GgufValueType::BOOL: pod<uint8_t>(i ? 1 : 0); break;
      default: TT_CHECK(false, "not a numeric gguf type");
    }
  }
  void pad_to(uint64_t alignment) { out_.append((alignment - out_.size() % alignment) % alignment, '\0'); }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

void write_value(ByteWriter& w, const GgufValue& v) {
  w.pod<uint32_t>(static_cast<uint32_t>(v.type));
  if (v.type == GgufValueType::STRING) return w.string(std::get<std::string>(v.scalar));
  if (v.type == GgufValueType::ARRAY) {
    w.pod<uint32_t>(static_cast<uint32_t>(v.array_type));
    if (v.array_type == GgufValueType::STRING) {
      w.pod<uint64_t>(v.strings.size());
      for (const auto& s : v.strings) w.string(s);
    } else if (is_integer_type(v.array_type) || v.array_type == GgufValueType::BOOL) {
      w.pod<uint64_t>(v.ints.size());
      for (int64_t i : v.ints) w.number(v.array_type, i, 0);
    } else {
      w.pod<uint64_t>(v.floats.size());
      for (double f : v.floats) w.number(v.array_type, 0, f);
    }
    return;
  }
  if (v.type == GgufValueType::BOOL) return w.number(v.type, std::get<bool>(v.scalar), 0);
  if (v.type == GgufValueType::F32 || v.type == GgufValueType::F64) return w.number(v.type, 0, std::get<double>(v.scalar));
  if (std::holds_alternative<uint64_t>(v.scalar))
    return w.number(v.type, static_cast<int64_t>(std::get<uint64_t>(v.scalar)), 0);
  w.number(v.type, std::get<int64_t>(v.scalar), 0);
}

uint64_t alignment_of(const GgufContents& contents) {
  const GgufValue* v = contents.find("general.alignment");
  if (!v) return kDefaultAlignment;
  uint64_t a = std::holds_alternative<uint64_t>(v->scalar) ? std::get<uint64_t>(v->scalar) : 0;
  if (a == 0 || (a & (a - 1)) != 0) fail("general.alignment must be a power of two");
  return a;
}

// --- reading ---------------------------------------------------------------------------------

class ByteReader {
 public:
  ByteReader(const std::string& bytes, const std::string& label) : bytes_(bytes), label_(label) {}
  template <typename T>
  T pod(const std::string& what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }
  std::string string(const std::string& what) {
    uint64_t n = pod<uint64_t>(what);
    need(n, what);
    std::string s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void need(uint64_t n, const std::string& what) const {
    if (n > bytes_.size() - pos_) fail("{}: truncated GGUF file while reading {}", label_, what);
  }
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }
  const std::string& label() const { return label_; }

 private:
  const std::string& bytes_;
  std::string label_;
  uint64_t pos_ = 0;
};

int64_t read_integer(ByteReader& r, GgufValueType t, const std::string& key) {
  switch (t) {
    case GgufValueType::U8: return r.pod<uint8_t>(key);
    case GgufValueType::I8: return r.pod<int8_t>(key);
    case GgufValueType::U16: return r.pod<uint16_t>(key);
    case GgufValueType::I16: return r.pod<int16_t>(key);
    case GgufValueType::U32: return r.pod<uint32_t>(key);
    case GgufValueType::I32: return r.pod<int32_t>(key);
    case GgufValueType::U64: return static_cast<int64_t>(r.pod<uint64_t>(key));
    case GgufValueType::I64: return r.pod<int64_t>(key);
    case GgufValueType::BOOL: {
      uint8_t b = r.pod<uint8_t>(key);
      if (b > 1) fail("{}: key {}: bool value {} is not 0 or 1", r.label(), key, b);
      return b;
    }
    default: TT_CHECK(false, "not an integer type");
  }
}

GgufValueType read_value_type(ByteReader& r, const std::string& key) {
  uint32_t t = r.pod<uint32_t>(key);
  if (t > static_cast<uint32_t>(GgufValueType::F64)) fail("{}: key {}: unknown value type {}", r.label(), key, t);
  return static_cast<GgufValueType>(t);
}

GgufValue read_value(ByteReader& r, GgufValueType t, const std::string& key) {
  GgufValue v;
  v.type = t;
  if (t == GgufValueType::STRING) {
    v.scalar = r.string(key);
  } else if (t == GgufValueType::ARRAY) {
    v.array_type = read_value_type(r, key);
    if (v.array_type == GgufValueType::ARRAY) fail("{}: key {}: nested arrays are not supported", r.label(), key);
    uint64_t n = r.pod<uint64_t>(key);
    size_t element = v.array_type == GgufValueType::STRING ? 8 : scalar_size(v.array_type);
    if (n > r.remaining() / element)  // a lying count fails here, before any allocation
      fail("{}: key {}: array of {} elements runs past the end of the file", r.label(), key, n);
    for (uint64_t i = 0; i < n; ++i) {
      if (v.array_type == GgufValueType::STRING) v.strings.push_back(r.string(key));
      else if (v.array_type == GgufValueType::F32) v.floats.push_back(r.pod<float>(key));
      else if (v.array_type == GgufValueType::F64) v.floats.push_back(r.pod<double>(key));
      else v.ints.push_back(read_integer(r, v.array_type, key));
    }
  } else if (t == GgufValueType::F32) {
    v.scalar = double{r.pod<float>(key)};
  } else if (t == GgufValueType::F64) {
    v.scalar = r.pod<double>(key);
  } else if (t == GgufValueType::BOOL) {
    v.scalar = read_integer(r, t, key) != 0;
  } else if (t == GgufValueType::U8 || t == GgufValueType::U16 || t == GgufValueType::U32 || t == GgufValueType::U64) {
    v.scalar = static_cast<uint64_t>(read_integer(r, t, key));
  } else {
    v.scalar = read_integer(r, t, key);
  }
  return v;
}

int64_t block_size(GgmlType type) { return type == GgmlType::Q8_0 ? kQ8_0BlockSize : 1; }

GgmlType checked_ggml_type(uint32_t t, const std::string& label, const std::string& tensor) {
  switch (t) {
    case 0: case 1: case 8: case 30: return static_cast<GgmlType>(t);
    default: fail("{}: tensor {}: unsupported ggml type {}", label, tensor, t);
  }
}

float round_half_away(float x) { return std::round(x); }

// general.alignment of a file being read: a power of two no larger than 1 MiB (llama.cpp writes 32).
uint64_t checked_alignment(const GgufContents& contents, const std::string& label) {
  const GgufValue* v = contents.find("general.alignment");
  if (!v) return kDefaultAlignment;
  uint64_t a = v->type == GgufValueType::U32 ? std::get<uint64_t>(v->scalar) : 0;
  if (a == 0 || (a & (a - 1)) != 0 || a > (uint64_t{1} << 20))
    fail("{}: key general.alignment: {} is not a u32 power of two up to 1 MiB", label, v->describe());
  return a;
}

// Bytes of a tensor's data from its dims and type. Every element takes at least one byte, so an
// element count over the file size (or one that overflows) is refused before any arithmetic can wrap.
uint64_t checked_data_size(const GgufTensor& t, uint64_t file_size, const std::string& label) {
  uint64_t elements = 1;
  for (uint64_t d : t.dims)
    if (__builtin_mul_overflow(elements, d, &elements) || elements > file_size)
      fail("{}: tensor {}: {} elements cannot fit in a file of {} bytes", label, t.name,
           fmt::join(t.dims, " x "), file_size);
  try {
    return ggml_row_bytes(t.type, static_cast<int64_t>(t.dims[0])) * (t.dims[0] == 0 ? 0 : elements / t.dims[0]);
  } catch (const Error& e) {
    fail("{}: tensor {}: {}", label, t.name, e.what());
  }
}

}  // namespace

const char* ggml_type_name(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return "f32";
    case GgmlType::F16: return "f16";
    case GgmlType::BF16: return "bf16";
    case GgmlType::Q8_0: return "q8_0";
  }
  return "?";
}

uint64_t ggml_row_bytes(GgmlType type, int64_t count) {
  if (count % block_size(type) != 0)
    fail("{} needs rows that are a multiple of {} elements, got {}", ggml_type_name(type), block_size(type), count);
  switch (type) {
    case GgmlType::F32: return 4 * count;
    case GgmlType::F16: case GgmlType::BF16: return 2 * count;
    case GgmlType::Q8_0: return count / kQ8_0BlockSize * kQ8_0BlockBytes;
  }
  return 0;
}

std::vector<uint8_t> encode_ggml(GgmlType type, const float* data, int64_t count) {
  std::vector<uint8_t> out(ggml_row_bytes(type, count));
  if (count == 0) return out;
  if (type == GgmlType::F32) {
    std::memcpy(out.data(), data, out.size());
  } else if (type == GgmlType::F16 || type == GgmlType::BF16) {
    for (int64_t i = 0; i < count; ++i) {
      uint16_t h = type == GgmlType::F16 ? f32_to_f16(data[i]) : f32_to_bf16(data[i]);
      std::memcpy(out.data() + 2 * i, &h, 2);
    }
  } else {
    for (int64_t b = 0; b < count / kQ8_0BlockSize; ++b) {
      const float* x = data + b * kQ8_0BlockSize;
      uint8_t* block = out.data() + b * kQ8_0BlockBytes;
      float amax = 0;
      for (int i = 0; i < kQ8_0BlockSize; ++i) amax = std::max(amax, std::fabs(x[i]));
      float d = amax / 127.0f;
      float inverse = d != 0 ? 1.0f / d : 0.0f;
      uint16_t d16 = f32_to_f16(d);
      std::memcpy(block, &d16, 2);
      for (int i = 0; i < kQ8_0BlockSize; ++i)
        block[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(round_half_away(x[i] * inverse)));
    }
  }
  return out;
}

std::vector<float> decode_ggml(GgmlType type, const uint8_t* data, int64_t count) {
  std::vector<float> out(count);
  if (count == 0) return out;  // (memcpy of nothing from a null pointer is still undefined)
  if (type == GgmlType::F32) {
    std::memcpy(out.data(), data, 4 * count);
  } else if (type == GgmlType::F16 || type == GgmlType::BF16) {
    for (int64_t i = 0; i < count; ++i) {
      uint16_t h;
      std::memcpy(&h, data + 2 * i, 2);
      out[i] = type == GgmlType::F16 ? f16_to_f32(h) : bf16_to_f32(h);
    }
  } else {
    ggml_row_bytes(type, count);  // validates the block multiple
    for (int64_t b = 0; b < count / kQ8_0BlockSize; ++b) {
      const uint8_t* block = data + b * kQ8_0BlockBytes;
      uint16_t d16;
      std::memcpy(&d16, block, 2);
      float d = f16_to_f32(d16);
      for (int i = 0; i < kQ8_0BlockSize; ++i)
        out[b * kQ8_0BlockSize + i] = d * static_cast<int8_t>(block[2 + i]);
    }
  }
  return out;
}

GgufValue GgufValue::string_array(std::vector<std::string> v) {
  GgufValue out{GgufValueType::ARRAY, uint64_t{0}};
  out.array_type = GgufValueType::STRING;
  out.strings = std::move(v);
  return out;
}

GgufValue GgufValue::i32_array(std::vector<int64_t> v) {
  GgufValue out{GgufValueType::ARRAY, uint64_t{0}};
  out.array_type = GgufValueType::I32;
  out.ints = std::move(v);
  return out;
}

std::string GgufValue::describe() const {
  if (type == GgufValueType::ARRAY) {
    size_t n = strings.size() + ints.size() + floats.size();
    std::string first = !strings.empty() ? strings[0]
                        : !ints.empty()  ? std::to_string(ints[0])
                        : !floats.empty() ? fmt::format("{}", floats[0])
                                          : "";
    return fmt::format("array(type {}, {} items, first '{}')", static_cast<uint32_t>(array_type), n, first);
  }
  return std::visit(
      [&](const auto& x) { return fmt::format("type {} value {}", static_cast<uint32_t>(type), x); }, scalar);
}

const GgufValue* GgufContents::find(const std::string& key) const {
  for (const auto& kv : metadata)
    if (kv.key == key) return &kv.value;
  return nullptr;
}

const GgufTensor* GgufContents::find_tensor(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

std::string serialize_gguf(const GgufContents& contents) {
  uint64_t alignment = alignment_of(contents);
  ByteWriter w;
  w.bytes() += "GGUF";
  w.pod<uint32_t>(kGgufVersion);
  w.pod<uint64_t>(contents.tensors.size());
  w.pod<uint64_t>(contents.metadata.size());
  for (const auto& kv : contents.metadata) {
    w.string(kv.key);
    write_value(w, kv.value);
  }
  uint64_t offset = 0;
  for (const auto& t : contents.tensors) {
    w.string(t.name);
    w.pod<uint32_t>(t.dims.size());
    for (uint64_t d : t.dims) w.pod<uint64_t>(d);
    w.pod<uint32_t>(static_cast<uint32_t>(t.type));
    w.pod<uint64_t>(offset);
    offset += (t.data.size() + alignment - 1) / alignment * alignment;
  }
  w.pad_to(alignment);
  for (const auto& t : contents.tensors) {
    w.bytes().append(reinterpret_cast<const char*>(t.data.data()), t.data.size());
    w.pad_to(alignment);
  }
  return std::move(w.bytes());
}

void write_gguf(const std::string& path, const GgufContents& contents, bool overwrite) {
  if (!overwrite && file_exists(path)) fail("{}: already exists (pass --overwrite to replace it)", path);
  write_file_atomic(path, serialize_gguf(contents));
}

GgufContents parse_gguf(const std::string& bytes, const std::string& label) {
  ByteReader r(bytes, label);
  r.need(4, "the magic");
  if (bytes.compare(0, 4, "GGUF") != 0) fail("{}: not a GGUF file (bad magic)", label);
  r.pod<uint32_t>("the magic");
  uint32_t version = r.pod<uint32_t>("the version");
  if (version != 2 && version != 3) fail("{}: unsupported GGUF version {} (expected 3)", label, version);
  uint64_t n_tensors = r.pod<uint64_t>("the tensor count");
  uint64_t n_kv = r.pod<uint64_t>("the metadata count");
  // Smallest entries: a key is a u64 length and a u32 type; a tensor info is name length, n_dims, one
  // dim, type and offset. A count that cannot fit is refused before anything is read for it.
  if (n_kv > r.remaining() / 12) fail("{}: metadata count {} cannot fit in a file of {} bytes", label, n_kv, bytes.size());
  if (n_tensors > r.remaining() / 32)
    fail("{}: tensor count {} cannot fit in a file of {} bytes", label, n_tensors, bytes.size());
  GgufContents contents;
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.string(fmt::format("metadata key #{}", i));
    if (contents.find(key)) fail("{}: key {} appears twice", label, key);
    GgufValueType t = read_value_type(r, key);
    contents.metadata.push_back({key, read_value(r, t, key)});
  }
  uint64_t alignment = checked_alignment(contents, label);
  std::vector<uint64_t> offsets;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    t.name = r.string(fmt::format("tensor info #{}", i));
    if (contents.find_tensor(t.name)) fail("{}: tensor {} appears twice", label, t.name);
    uint32_t n_dims = r.pod<uint32_t>(t.name);
    if (n_dims == 0 || n_dims > 4) fail("{}: tensor {}: {} dimensions (1 to 4 allowed)", label, t.name, n_dims);
    for (uint32_t d = 0; d < n_dims; ++d) t.dims.push_back(r.pod<uint64_t>(t.name));
    t.type = checked_ggml_type(r.pod<uint32_t>(t.name), label, t.name);
    uint64_t offset = r.pod<uint64_t>(t.name);
    if (offset % alignment != 0) fail("{}: tensor {}: offset {} is not aligned to {}", label, t.name, offset, alignment);
    offsets.push_back(offset);
    contents.tensors.push_back(std::move(t));
  }
  uint64_t data_start = (r.pos() + alignment - 1) / alignment * alignment;
  for (size_t i = 0; i < contents.tensors.size(); ++i) {
    GgufTensor& t = contents.tensors[i];
    uint64_t size = checked_data_size(t, bytes.size(), label);
    if (data_start > bytes.size() || offsets[i] > bytes.size() - data_start || size > bytes.size() - data_start - offsets[i])
      fail("{}: tensor {}: data [{}, +{}) runs past the end of the file", label, t.name, offsets[i], size);
    const auto* begin = reinterpret_cast<const uint8_t*>(bytes.data() + data_start + offsets[i]);
    t.data.assign(begin, begin + size);
  }
  return contents;
}

GgufContents read_gguf(const std::string& path) { return parse_gguf(read_file(path), path); }

}  // namespace tt
