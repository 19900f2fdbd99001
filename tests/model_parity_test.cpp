// Parity with PyTorch: tools/gen_parity_fixtures.py runs its own fp32 implementation of each
// architecture (tools/torch_reference.py) on tiny random models and records logits, the loss, every
// parameter gradient, five AdamW steps with clipping, and a packed two-document row. We load the same
// checkpoint through the real loader and compare.
#include <cmath>
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/transformer.h"
#include "tests/test_util.h"
#include "train/lr_schedule.h"
#include "train/train_step.h"

namespace tt {
namespace {

std::string fixture(const std::string& name) { return testing::fixture_dir() + "/parity/" + name; }

// max |a - b| / max |b|: the tolerance is relative to the tensor's scale.
double relative_error(const float* a, const std::vector<float>& b) {
  double diff = 0, scale = 1e-30;
  for (size_t i = 0; i < b.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::fabs(b[i])));
  }
  return diff / scale;
}

std::vector<float> read_tensor(const SafetensorsFile& file, const std::string& name) {
  const TensorInfo& info = file.get(name);
  std::vector<float> out(info.numel());
  file.read_f32(name, out.data());
  return out;
}

// A batch from input_ids / targets (and position_ids: documents start where positions restart).
Batch read_batch(const SafetensorsFile& file) {
  const TensorInfo& info = file.get("input_ids");
  Batch batch;
  batch.rows = info.shape[0];
  batch.seq = info.shape[1];
  for (int64_t id : file.read_i64("input_ids")) batch.tokens.push_back(static_cast<int32_t>(id));
  for (int64_t id : file.read_i64("targets")) batch.targets.push_back(static_cast<int32_t>(id));
  if (file.find("position_ids")) {
    int32_t start = 0;
    int64_t t = 0;
    for (int64_t p : file.read_i64("position_ids")) {
      if (p == 0) start = static_cast<int32_t>(t % batch.seq);
      batch.positions.push_back(static_cast<int32_t>(p));
      batch.doc_start.push_back(start);
      ++t;
    }
  }
  return batch;
}

struct Result {
  double loss;
  std::vector<float> logits, grads;
};

Result run(Model& model, const Batch& batch, Precision precision) {
  std::vector<float> bf16_copy;
  WeightSet weights = make_weight_set(model, precision, bf16_copy);
  Workspace ws;
  Result r;
  r.grads.assign(model.params.size(), 0.0f);
  ModelViews grads = make_model_views(model.config, r.grads.data());
  const int64_t n = batch.size();
  int64_t scored = 0;
  for (int32_t t : batch.targets) scored += t >= 0;
  std::vector<float> token_weights(n, 1.0f / static_cast<float>(scored));
  LossResult loss = model_loss(model.config, weights, batch, ws, {.precision = precision}, token_weights.data(),
                               TokenLoss::NLL, &grads);
  r.loss = loss.loss_sum;
  r.logits.resize(n * model.config.vocab_size);
  matmul(ws.hidden.data(), weights.matmul_weights.lm_head, r.logits.data(), n, model.config.vocab_size,
         model.config.hidden_size, {.trans_b = true, .precision = precision, .b_is_bf16 = weights.matmul_weights_are_bf16});
  return r;
}

class ParityTest : public ::testing::TestWithParam<std::string> {};

void expect_matches(Model& model, const SafetensorsFile& ref, const Result& r, double logit_tol, double loss_tol,
                    double grad_tol) {
  EXPECT_LE(relative_error(r.logits.data(), read_tensor(ref, "logits")), logit_tol) << "logits";
  const double expected_loss = read_tensor(ref, "loss")[0];
  EXPECT_NEAR(r.loss, expected_loss, loss_tol * std::fabs(expected_loss)) << "loss";
  for (const auto& slot : model.layout.slots)
    EXPECT_LE(relative_error(r.grads.data() + slot.offset, read_tensor(ref, "grad." + slot.name)), grad_tol)
        << "gradient of " << slot.name;
}

TEST_P(ParityTest, Fp32LogitsLossAndGradients) {
  Model model = load_model(fixture(GetParam()));
  SafetensorsFile ref(fixture(GetParam()) + "/reference.safetensors");
  expect_matches(model, ref, run(model, read_batch(ref), Precision::FP32), 1e-4, 1e-5, 1e-4);
}

TEST_P(ParityTest, Fp32PackedDocumentsAttendOnlyWithinThemselves) {
  Model model = load_model(fixture(GetParam()));
  SafetensorsFile ref(fixture(GetParam()) + "/packed.safetensors");
  expect_matches(model, ref, run(model, read_batch(ref), Precision::FP32), 1e-4, 1e-5, 1e-4);
}

// bf16 mode rounds every matmul input to bf16 (8 mantissa bits), as torch.autocast does: logits and
// the loss stay within 2%, gradients within 5% of the largest entry of each tensor.
TEST_P(ParityTest, Bf16WithinDocumentedBounds) {
  Model model = load_model(fixture(GetParam()));
  SafetensorsFile ref(fixture(GetParam()) + "/reference.safetensors");
  expect_matches(model, ref, run(model, read_batch(ref), Precision::BF16), 2e-2, 2e-2, 5e-2);
}

TEST_P(ParityTest, FiveAdamWStepsWithClipping) {
  Model model = load_model(fixture(GetParam()));
  SafetensorsFile ref(fixture(GetParam()) + "/reference.safetensors");
  const auto& meta = ref.metadata();
  auto lrs = nlohmann::json::parse(meta.at("lrs"));
  StepOptions options;
  options.adamw = {.learning_rate = std::stod(meta.at("lr")),
                   .beta1 = std::stod(meta.at("beta1")),
                   .beta2 = std::stod(meta.at("beta2")),
                   .epsilon = std::stod(meta.at("eps")),
                   .weight_decay = std::stod(meta.at("weight_decay"))};
  options.max_grad_norm = std::stod(meta.at("max_grad_norm"));
  const int64_t warmup = std::stoll(meta.at("warmup_steps")), total = std::stoll(meta.at("total_steps"));
  TrainState state(model, Precision::FP32);
  std::vector<Batch> batches = {read_batch(ref)};
  auto losses = read_tensor(ref, "adamw_losses"), norms = read_tensor(ref, "adamw_grad_norms");
  for (int64_t step = 0; step < total; ++step) {
    options.learning_rate = options.adamw.learning_rate * schedule_factor({.kind = ScheduleKind::Cosine}, step, warmup, total);
    EXPECT_NEAR(options.learning_rate, lrs[step].get<double>(), 1e-12) << "lr of step " << step;
    StepResult r = train_step(state, batches, options);
    EXPECT_NEAR(r.loss, losses[step], 1e-5 * losses[step]) << "loss before step " << step;
    EXPECT_NEAR(r.grad_norm, norms[step], 1e-4 * norms[step]) << "grad norm at step " << step;
  }
  // Adam divides by sqrt(v): entries whose gradients are at fp32 noise level take full-size steps in
  // noise-determined directions, so final weights agree to 1e-3 of each tensor's scale, not 1e-4. That
  // still catches a wrong decay mask (decaying a norm weight moves it by 3.5e-3 over these steps).
  for (const auto& slot : model.layout.slots)
    EXPECT_LE(relative_error(model.params.data() + slot.offset, read_tensor(ref, "final." + slot.name)), 1e-3)
        << "weights of " << slot.name << " after 5 steps";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ParityTest, ::testing::Values("tiny_llama4", "tiny_llama", "tiny_llama_untied"));

}  // namespace
}  // namespace tt
