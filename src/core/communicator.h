// The processes of a distributed job (issue 19): world size, rank, local rank and the collectives
// data-parallel training and sharded evaluation need, over MPI when the binary is built with it
// (CMake found MPI) and launched by mpirun or srun; otherwise one process, where every collective is
// the identity. A binary built with MPI and started without a launcher does not initialise MPI.
//
//   mpirun -np 2 tinythink sft config.yaml     # two ranks, one process each
//   tinythink sft config.yaml                  # world size 1, nothing changes
//
// Collectives are blocking and must be called by every rank in the same order with the same sizes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tt {

class Communicator {
 public:
  // The world of this process: MPI_COMM_WORLD after init_distributed() under a launcher, else a
  // single process.
  static Communicator& world();

  int size() const { return size_; }
  int rank() const { return rank_; }
  int local_rank() const { return local_rank_; }  // rank among the processes of this node
  bool is_root() const { return rank_ == 0; }
  bool distributed() const { return size_ > 1; }

  // In place, every rank ends with the elementwise sum (identical bits on every rank).
  void all_reduce_sum(float* data, size_t n);
  void all_reduce_sum(double* data, size_t n);
  void all_reduce_sum(int64_t* data, size_t n);
  int64_t all_reduce_max(int64_t value);
  // `in` holds size() chunks of `chunk` floats; `out` (chunk floats) receives the sum of every
  // rank's chunk rank().
  void reduce_scatter_sum(const float* in, float* out, size_t chunk);
  // `in` (chunk floats) from every rank, concatenated in rank order into `out` (size() * chunk).
  void all_gather(const float* in, float* out, size_t chunk);
  // Uneven shards (ZeRO-1): rank r owns counts[r] consecutive floats of a buffer, in rank order.
  // `in` is the whole buffer (the sum of counts); `out` (counts[rank()] floats) receives the sum over
  // the ranks of their buffers' share of this rank.
  void reduce_scatter_sum(const float* in, float* out, const std::vector<int64_t>& counts);
  // In place: every rank's share of `data` (the whole buffer) goes to every other rank.
  void all_gather_in_place(float* data, const std::vector<int64_t>& counts);
  // Every rank's share (`mine`, counts[rank()] floats) into its place of `all` (the whole buffer) on
  // `root`; `all` is not touched elsewhere.
  void gather(const float* mine, float* all, const std::vector<int64_t>& counts, int root = 0);
  // Every rank's bytes, in rank order.
  std::vector<std::string> all_gather(const std::string& bytes);
  void broadcast(float* data, size_t n, int root = 0);
  void broadcast(double* data, size_t n, int root = 0);
  bool broadcast(bool value, int root = 0);
  void barrier();
  // A barrier where the ranks that arrive first sleep (1 ms polls) instead of spinning, so that the
  // ranks still working keep the cores: for measurements where some ranks work alone.
  void barrier_sleeping();
  // Ends every rank of the job with `code` (after this rank printed why); exit() when single.
  [[noreturn]] void abort(int code);

 private:
  friend void init_distributed();
  friend void finish_distributed();
  int size_ = 1, rank_ = 0, local_rank_ = 0;
  bool mpi_ = false;
};

// Whether the binary was built with MPI.
bool built_with_mpi();
// Whether this process was started by a launcher (mpirun, srun): OMPI_COMM_WORLD_SIZE, PMIX_RANK,
// PMI_RANK in the environment.
bool launched_distributed();
// Initialises MPI when built with it and launched distributed (world size and ranks from then on);
// ranks other than 0 log quietly. Without MPI, or without a launcher, nothing happens. Once.
void init_distributed();
// MPI_Finalize when init_distributed started MPI.
void finish_distributed();

// The share of `count` items (documents, pairs, batches) of `rank` among `size`: indices i with
// i % size == rank, in order.
std::vector<size_t> rank_share(size_t count, int size, int rank);

// Sharded work gathered: `mine` holds this rank's items (rank_share(count, ...) order); returns all
// `count` items in index order, on every rank. Items are opaque bytes.
std::vector<std::string> gather_shares(Communicator& world, const std::vector<std::string>& mine, size_t count);

}  // namespace tt
