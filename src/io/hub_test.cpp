#include "io/hub.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/error.h"
#include "io/file.h"
#include "io/http.h"
#include "tests/fake_hub.h"
#include "tests/error_of.h"
#include "tests/test_util.h"

// Against tools/hub/fake_hub.py, a loopback server with the Hub's endpoints and headers.

namespace fs = std::filesystem;

namespace {

constexpr const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

class FakeHub : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_.start();
    port_ = hub_.port;
    cache_ = hub_.cache;
    log_ = hub_.log;
  }
  void TearDown() override { hub_.stop(); }
  std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const tt::Error& e) {
      return e.what();
    }
    return "";
  }

  tt::testing::FakeHubServer hub_;
  int port_ = 0;
  std::string cache_, log_;
};

tt::HubRepo repo(const std::string& id, tt::RepoType type = tt::RepoType::kModel) {
  tt::HubRepo r;
  r.id = id;
  r.type = type;
  return r;
}

// Every entry under `root`: "path" for directories, "path -> target" for symlinks, "path: content" for files.
std::vector<std::string> tree(const std::string& root) {
  std::vector<std::string> entries;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = it->path().lexically_relative(root).string();
    if (it->is_symlink()) entries.push_back(rel + " -> " + fs::read_symlink(it->path()).string());
    else if (it->is_directory()) entries.push_back(rel + "/");
    else entries.push_back(rel + ": " + tt::read_file(it->path().string()).substr(0, 16));
  }
  std::sort(entries.begin(), entries.end());
  return entries;
}

}  // namespace

TEST_F(FakeHub, ModelSnapshotLandsInTheHuggingFaceHubCacheLayout) {
  const std::string dir = tt::resolve_model_dir("org/tiny");
  EXPECT_EQ(dir, cache_ + "/models--org--tiny/snapshots/" + kCommit);
  std::vector<std::string> t = tree(cache_);
  // blobs named by the normalized ETag (git sha1 for small files, sha256 for LFS), relative symlinks,
  // refs/main holding the commit, lock files under .locks; README.md and onnx/ are not model files
  std::vector<std::string> expected = {
      ".locks/",
      ".locks/models--org--tiny/",
      ".locks/models--org--tiny/11a49425c76fda05d55508d801e8dbd2a2f2676011f85baba64a2df0420fe574.lock: ",
      ".locks/models--org--tiny/9eddb62b076f586b2186445e7872e5a05f0dfe06.lock: ",
      ".locks/models--org--tiny/92bdb0aff34a95a7c00546c3d608c984294164ed.lock: ",
      "CACHEDIR.TAG: Signature: 8a477",
      "models--org--tiny/",
      "models--org--tiny/blobs/",
      "models--org--tiny/blobs/11a49425c76fda05d55508d801e8dbd2a2f2676011f85baba64a2df0420fe574: {\"__metadata__\":",
      "models--org--tiny/blobs/9eddb62b076f586b2186445e7872e5a05f0dfe06: {\"model_type\": \"",
      "models--org--tiny/blobs/92bdb0aff34a95a7c00546c3d608c984294164ed: {\"version\": \"1.0",
      "models--org--tiny/refs/",
      "models--org--tiny/refs/main: 0123456789abcdef",
      "models--org--tiny/snapshots/",
      std::string("models--org--tiny/snapshots/") + kCommit + "/",
      std::string("models--org--tiny/snapshots/") + kCommit + "/config.json -> ../../blobs/9eddb62b076f586b2186445e7872e5a05f0dfe06",
      std::string("models--org--tiny/snapshots/") + kCommit + "/model.safetensors -> ../../blobs/11a49425c76fda05d55508d801e8dbd2a2f2676011f85baba64a2df0420fe574",
      std::string("models--org--tiny/snapshots/") + kCommit + "/tokenizer.json -> ../../blobs/92bdb0aff34a95a7c00546c3d608c984294164ed",
  };
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(t, expected);
  EXPECT_EQ(tt::read_file(cache_ + "/models--org--tiny/refs/main"), kCommit);  // no newline
  // offline, the cache answers alone
  ::setenv("HF_HUB_OFFLINE", "1", 1);
  EXPECT_EQ(tt::resolve_model_dir("org/tiny"), dir);
  EXPECT_NE(error_of([] { tt::resolve_model_dir("org/other"); }).find("HF_HUB_OFFLINE"), std::string::npos);
  // A snapshot link whose blob is gone (a blob deleted by hand): the cache is damaged, the file is not
  // "not in the cache".
  fs::remove(cache_ + "/models--org--tiny/blobs/9eddb62b076f586b2186445e7872e5a05f0dfe06");
  const std::string broken = error_of([] { tt::hub_download_file(repo("org/tiny"), "config.json"); });
  EXPECT_NE(broken.find("org/tiny/config.json: the local hub cache is damaged: "), std::string::npos) << broken;
  EXPECT_NE(broken.find("../../blobs/9eddb62b076f586b2186445e7872e5a05f0dfe06, which is missing"), std::string::npos) << broken;
}

TEST_F(FakeHub, NestedFilesLinkWithOneMoreParentPerFolder) {
  std::string path = tt::hub_download_file(repo("org/tiny"), "onnx/model.onnx");
  EXPECT_EQ(fs::read_symlink(path).string().substr(0, 15), "../../../blobs/");
  EXPECT_EQ(tt::read_file(path), "onnx");
}

TEST_F(FakeHub, ADroppedConnectionResumesWithARangeRequest) {
  std::string path = tt::hub_download_file(repo("org/flaky"), "drop.bin");
  std::string content = tt::read_file(path);
  ASSERT_EQ(content.size(), 256u * 400);
  for (size_t i = 0; i < content.size(); ++i) ASSERT_EQ(static_cast<uint8_t>(content[i]), i % 256) << i;
  EXPECT_NE(tt::read_file(log_).find(fmt::format("Range bytes={}- of drop.bin", 256 * 400 / 2)), std::string::npos)
      << tt::read_file(log_);
  EXPECT_EQ(fs::exists(fs::path(fs::canonical(path)).string() + ".incomplete"), false);
}

TEST_F(FakeHub, AWrongSha256IsRefusedAndNothingIsLinked) {
  std::string error = error_of([&] { tt::hub_download_file(repo("org/flaky"), "bad.bin"); });
  EXPECT_NE(error.find("org/flaky/bad.bin: sha256 mismatch"), std::string::npos) << error;
  EXPECT_FALSE(fs::exists(cache_ + "/models--org--flaky/snapshots/" + kCommit + "/bad.bin"));
  EXPECT_FALSE(fs::exists(cache_ + "/models--org--flaky/blobs/" + std::string(64, 'f')));
}

TEST_F(FakeHub, ADiskFullIsAOneLineErrorNamingTheFile) {
  // /dev/full takes the open and refuses every write with ENOSPC, as a full cache disk does
  const std::string url = fmt::format(
      "http://127.0.0.1:{}/cdn/11a49425c76fda05d55508d801e8dbd2a2f2676011f85baba64a2df0420fe574?name=model.safetensors", port_);
  std::string error = error_of([&] { tt::http_download(url, "/dev/full", {}, [](int64_t, int64_t) {}); });
  EXPECT_EQ(error, "/dev/full: cannot write (No space left on device)");
}

TEST_F(FakeHub, GatedMissingAndUnknownGiveOneLineErrors) {
  std::string gated = error_of([&] { tt::hub_download_file(repo("org/gated"), "config.json"); });
  EXPECT_NE(gated.find("gated repo"), std::string::npos) << gated;
  EXPECT_NE(gated.find("HF_TOKEN"), std::string::npos) << gated;
  std::string unknown = error_of([&] { tt::hub_download_file(repo("org/nothing"), "config.json"); });
  EXPECT_NE(unknown.find("answered 401"), std::string::npos) << unknown;
  std::string missing = error_of([&] { tt::hub_download_file(repo("org/tiny"), "nope.json"); });
  EXPECT_NE(missing.find("org/tiny/nope.json: not found in org/tiny at revision 'main' (404)"), std::string::npos) << missing;
  for (const auto& e : {gated, unknown, missing}) EXPECT_EQ(e.find('\n'), std::string::npos);
}

// Names from a server or a caller place files in the cache: a commit or a file name that would lead
// out of the repo's folder is refused before anything is written (huggingface_hub refuses it too).
TEST_F(FakeHub, ACommitOrFileNameLeadingOutOfTheCacheIsRefused) {
  const std::string file_commit = error_of([&] { tt::hub_download_file(repo("org/escape"), "config.json"); });
  EXPECT_NE(file_commit.find("org/escape/config.json: the server sent an unusable commit '../../escaped'"), std::string::npos) << file_commit;
  const std::string split_commit = error_of([&] { tt::dataset_files("org/escape", "", "train"); });
  EXPECT_NE(split_commit.find("org/escape: the server sent an unusable commit '../../escaped'"), std::string::npos) << split_commit;
  const std::string name = error_of([&] { tt::hub_download_file(repo("org/tiny"), "../../../escaped.json"); });
  EXPECT_NE(name.find("org/tiny: '../../../escaped.json' is not a file name inside the repo"), std::string::npos) << name;
  EXPECT_FALSE(fs::exists(cache_ + "/escaped"));
  EXPECT_FALSE(fs::exists(fs::path(cache_).parent_path() / "escaped"));
  for (const auto& e : {file_commit, split_commit, name}) EXPECT_EQ(e.find('\n'), std::string::npos);
}

TEST_F(FakeHub, DatasetSplitFilesAreDownloadedAlone) {
  std::vector<std::string> files = tt::dataset_files("org/chat", "", "train");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0], cache_ + "/datasets--org--chat/snapshots/" + kCommit + "/data/train-00000-of-00001.parquet");
  EXPECT_EQ(tt::read_file(files[0]), "PAR1 train");
  EXPECT_FALSE(fs::exists(cache_ + "/datasets--org--chat/snapshots/" + kCommit + "/data/test-00000-of-00001.parquet"));
}

// A split whose shards are not all there (train-00000-of-00002 without 00001: an interrupted download
// or copy) trained on half the data, exit 0: a one-line error naming the missing shard.
TEST(DatasetFiles, AnIncompleteSetOfShardsIsAnError) {
  const std::string dir = tt::testing::make_temp_dir("dataset-shards");
  tt::write_file_atomic(dir + "/train-00000-of-00002.parquet", "PAR1");
  tt::write_file_atomic(dir + "/notes.jsonl", "{}\n");  // not a shard: no count to check
  EXPECT_EQ(tt::testing::error_of([&] { tt::dataset_files(dir, "", "train"); }),
            dir + ": train-*-of-00002.parquet has 1 of its 2 shards (shard 1 is missing): the download or copy is "
                  "incomplete");
  tt::write_file_atomic(dir + "/train-00001-of-00002.parquet", "PAR1");
  EXPECT_EQ(tt::dataset_files(dir, "", "train").size(), 3u);
  fs::remove_all(dir);
}

TEST_F(FakeHub, DownloadVerbPrintsTheSnapshot) {
  auto r = tt::testing::run_cli("download org/chat --repo-type dataset");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(cache_ + "/datasets--org--chat/snapshots/" + kCommit), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(cache_ + "/datasets--org--chat/snapshots/" + kCommit + "/README.md"));
}

TEST_F(FakeHub, TokensComeFromHfTokenOrTheTokenFileAndOpenGatedRepos) {
  tt::write_file_atomic(cache_ + "/token", "hf_granted\n");
  ::setenv("HF_TOKEN_PATH", (cache_ + "/token").c_str(), 1);
  EXPECT_EQ(tt::hub_token(), "hf_granted");
  EXPECT_EQ(tt::read_file(tt::hub_download_file(repo("org/gated"), "config.json")), "{\"model_type\": \"llama\"}\n");
  ::setenv("HF_TOKEN", "hf_other", 1);  // HF_TOKEN wins over the file
  EXPECT_EQ(tt::hub_token(), "hf_other");
  EXPECT_NE(error_of([&] { tt::hub_download_file(repo("org/gated"), "tokenizer.json"); }).find("gated repo"), std::string::npos);
  ::unsetenv("HF_TOKEN");
}

TEST(HubCache, FollowsHfHomeAndHfHubCache) {
  ::unsetenv("HF_HUB_CACHE");
  ::setenv("HF_HOME", "/tmp/hf-home", 1);
  EXPECT_EQ(tt::hub_cache_dir(), "/tmp/hf-home/hub");
  tt::HubRepo r;
  r.id = "org/name";
  r.type = tt::RepoType::kDataset;
  EXPECT_EQ(tt::repo_folder(r), "/tmp/hf-home/hub/datasets--org--name");
  ::setenv("HF_HUB_CACHE", "/tmp/elsewhere", 1);
  EXPECT_EQ(tt::hub_cache_dir(), "/tmp/elsewhere");
  ::unsetenv("HF_HUB_CACHE");
  ::unsetenv("HF_HOME");
  EXPECT_TRUE(tt::is_repo_id("facebook/MobileLLM-R1-140M-base@main"));
  EXPECT_FALSE(tt::is_repo_id("data/train.jsonl"));
  EXPECT_FALSE(tt::is_repo_id("a/b/c"));
}
