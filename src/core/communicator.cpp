#include "core/communicator.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>

#include "core/error.h"
#include "core/log.h"

#if TT_HAVE_MPI
#include <mpi.h>
#endif

namespace tt {

namespace {

Communicator& the_world() {
  static Communicator world;
  return world;
}

#if TT_HAVE_MPI
// MPI counts are int: large buffers go in pieces.
constexpr size_t kMaxCount = size_t{1} << 30;

void check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail("MPI {} failed: {}", what, std::string(text, length));
}

void all_reduce_in_place(void* data, size_t n, size_t element, MPI_Datatype type, MPI_Op op) {
  auto* bytes = static_cast<char*>(data);
  for (size_t start = 0; start < n; start += kMaxCount) {
    const int count = static_cast<int>(std::min(kMaxCount, n - start));
    check(MPI_Allreduce(MPI_IN_PLACE, bytes + start * element, count, type, op, MPI_COMM_WORLD), "all-reduce");
  }
}

// MPI's counts and displacements of shards (int: a buffer over 2^31 floats is refused).
struct Shards {
  std::vector<int> counts, offsets;
  explicit Shards(const std::vector<int64_t>& sizes) {
    int64_t total = 0;
    for (int64_t size : sizes) {
      offsets.push_back(static_cast<int>(total));
      counts.push_back(static_cast<int>(size));
      total += size;
    }
    TT_CHECK(total <= std::numeric_limits<int>::max(), "a sharded buffer of {} floats (MPI counts are int)", total);
  }
};
#endif

int64_t offset_of(const std::vector<int64_t>& counts, int rank) {
  int64_t offset = 0;
  for (int r = 0; r < rank; ++r) offset += counts[r];
  return offset;
}

}  // namespace

Communicator& Communicator::world() { return the_world(); }

bool built_with_mpi() { return TT_HAVE_MPI != 0; }

bool launched_distributed() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(name)) return true;
  return false;
}

void init_distributed() {
#if TT_HAVE_MPI
  Communicator& world = the_world();
  if (world.mpi_ || !launched_distributed()) return;
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "init");
  world.mpi_ = true;
  MPI_Comm_size(MPI_COMM_WORLD, &world.size_);
  MPI_Comm_rank(MPI_COMM_WORLD, &world.rank_);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank_, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &world.local_rank_);
  MPI_Comm_free(&node);
  if (world.rank_ != 0) log_quiet() = true;
#else
  // Several copies of a binary without MPI would each train alone into the same output directory.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* size = std::getenv(name); size && std::atoi(size) > 1 && launched_distributed())
      fail("started as one of {} ranks ({}={}), but this tinythink was built without MPI: install libopenmpi-dev and "
           "rebuild, or run one process",
           size, name, size);
#endif
}

void finish_distributed() {
#if TT_HAVE_MPI
  Communicator& world = the_world();
  if (!world.mpi_) return;
  MPI_Finalize();
  world.mpi_ = false;
#endif
}

void Communicator::all_reduce_sum(float* data, size_t n) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) all_reduce_in_place(data, n, sizeof(float), MPI_FLOAT, MPI_SUM);
#endif
}

void Communicator::all_reduce_sum(double* data, size_t n) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) all_reduce_in_place(data, n, sizeof(double), MPI_DOUBLE, MPI_SUM);
#endif
}

void Communicator::all_reduce_sum(int64_t* data, size_t n) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) all_reduce_in_place(data, n, sizeof(int64_t), MPI_INT64_T, MPI_SUM);
#endif
}

int64_t Communicator::all_reduce_max(int64_t value) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) all_reduce_in_place(&value, 1, sizeof(int64_t), MPI_INT64_T, MPI_MAX);
#endif
  return value;
}

void Communicator::reduce_scatter_sum(const float* in, float* out, size_t chunk) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) {
    TT_CHECK(chunk <= kMaxCount, "reduce-scatter chunk of {} floats", chunk);
    check(MPI_Reduce_scatter_block(in, out, static_cast<int>(chunk), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
          "reduce-scatter");
    return;
  }
#endif
  std::copy(in, in + chunk, out);
}

void Communicator::all_gather(const float* in, float* out, size_t chunk) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) {
    TT_CHECK(chunk <= kMaxCount, "all-gather chunk of {} floats", chunk);
    check(MPI_Allgather(in, static_cast<int>(chunk), MPI_FLOAT, out, static_cast<int>(chunk), MPI_FLOAT,
                        MPI_COMM_WORLD),
          "all-gather");
    return;
  }
#endif
  std::copy(in, in + chunk, out);
}

void Communicator::reduce_scatter_sum(const float* in, float* out, const std::vector<int64_t>& counts) {
  TT_CHECK(counts.size() == static_cast<size_t>(size_), "{} shard counts for {} ranks", counts.size(), size_);
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) {
    const Shards shards(counts);
    check(MPI_Reduce_scatter(in, out, shards.counts.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "reduce-scatter");
    return;
  }
#endif
  std::copy(in, in + counts[0], out);
}

void Communicator::all_gather_in_place(float* data, const std::vector<int64_t>& counts) {
  TT_CHECK(counts.size() == static_cast<size_t>(size_), "{} shard counts for {} ranks", counts.size(), size_);
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) {
    const Shards shards(counts);
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, shards.counts.data(), shards.offsets.data(),
                         MPI_FLOAT, MPI_COMM_WORLD),
          "all-gather");
  }
#endif
}

void Communicator::gather(const float* mine, float* all, const std::vector<int64_t>& counts, int root) {
  TT_CHECK(counts.size() == static_cast<size_t>(size_), "{} shard counts for {} ranks", counts.size(), size_);
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) {
    const Shards shards(counts);
    check(MPI_Gatherv(mine, shards.counts[rank_], MPI_FLOAT, all, shards.counts.data(), shards.offsets.data(),
                      MPI_FLOAT, root, MPI_COMM_WORLD),
          "gather");
    return;
  }
#endif
  std::copy(mine, mine + counts[rank_], all + offset_of(counts, rank_));
}

std::vector<std::string> Communicator::all_gather(const std::string& bytes) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) {
    TT_CHECK(bytes.size() <= static_cast<size_t>(std::numeric_limits<int>::max()), "all-gather of {} bytes",
             bytes.size());
    const int length = static_cast<int>(bytes.size());
    std::vector<int> lengths(size_), offsets(size_);
    check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD), "all-gather");
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[r] = static_cast<int>(total);
      total += lengths[r];
    }
    TT_CHECK(total <= std::numeric_limits<int>::max(), "all-gather of {} bytes", total);
    std::string all(static_cast<size_t>(total), '\0');
    check(MPI_Allgatherv(bytes.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                         MPI_COMM_WORLD),
          "all-gather");
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r) out.push_back(all.substr(offsets[r], lengths[r]));
    return out;
  }
#endif
  return {bytes};
}

void Communicator::broadcast(float* data, size_t n, int root) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1)
    for (size_t start = 0; start < n; start += kMaxCount)
      check(MPI_Bcast(data + start, static_cast<int>(std::min(kMaxCount, n - start)), MPI_FLOAT, root, MPI_COMM_WORLD),
            "broadcast");
#endif
}

void Communicator::broadcast(double* data, size_t n, int root) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1)
    for (size_t start = 0; start < n; start += kMaxCount)
      check(MPI_Bcast(data + start, static_cast<int>(std::min(kMaxCount, n - start)), MPI_DOUBLE, root,
                      MPI_COMM_WORLD),
            "broadcast");
#endif
}

bool Communicator::broadcast(bool value, int root) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) {
    int v = value ? 1 : 0;
    check(MPI_Bcast(&v, 1, MPI_INT, root, MPI_COMM_WORLD), "broadcast");
    return v != 0;
  }
#endif
  return value;
}

void Communicator::barrier() {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
#endif
}

void Communicator::barrier_sleeping() {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) {
    MPI_Request request;
    check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "barrier");
    for (int done = 0;;) {
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "barrier");
      if (done) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
#endif
}

void Communicator::abort(int code) {
#if TT_HAVE_MPI
  if (mpi_ && size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

std::vector<size_t> rank_share(size_t count, int size, int rank) {
  std::vector<size_t> share;
  for (size_t i = static_cast<size_t>(rank); i < count; i += static_cast<size_t>(size)) share.push_back(i);
  return share;
}

std::vector<std::string> gather_shares(Communicator& world, const std::vector<std::string>& mine, size_t count) {
  TT_CHECK(mine.size() == rank_share(count, world.size(), world.rank()).size(), "{} items for a share of {}",
           mine.size(), count);
  std::string packed;  // each item: its 8-byte length, then its bytes
  for (const auto& item : mine) {
    const uint64_t length = item.size();
    packed.append(reinterpret_cast<const char*>(&length), sizeof length);
    packed += item;
  }
  const std::vector<std::string> parts = world.all_gather(packed);
  std::vector<std::string> all(count);
  for (int r = 0; r < world.size(); ++r) {
    size_t at = 0;
    for (size_t index : rank_share(count, world.size(), r)) {
      uint64_t length = 0;
      TT_CHECK(at + sizeof length <= parts[r].size(), "rank {} sent too few items", r);
      std::memcpy(&length, parts[r].data() + at, sizeof length);
      at += sizeof length;
      TT_CHECK(at + length <= parts[r].size(), "rank {} sent a short item", r);
      all[index] = parts[r].substr(at, length);
      at += length;
    }
  }
  return all;
}

}  // namespace tt
