// The training forward and backward passes on a GPU: model_forward's layer recipe (model/recipe.h)
// in a device context, the fused classifier/loss, and model_backward's reverse pass, over the
// parameter buffers of a TrainDevice (kernels/train_device.h: fp32 master weights, their bf16 working
// copy, gradients and AdamW moments in the host ParameterLayout). The numbers are model_loss's: fp32
// mode runs fp32 GEMMs (no TF32), bf16 mode rounds both GEMM operands to bf16 as the CPU does
// (weights through the bf16 copy, activations and gradients when they enter a product).
#pragma once
#include <cstdint>
#include <vector>

#include "kernels/train_device.h"
#include "model/transformer.h"

namespace tt {

class DeviceTrainingModel {
 public:
  // Creates the parameter buffers on `device` (decay_mask: one byte per parameter, as the CPU
  // optimizer's) and uploads `params` (the host buffer of the layout). `device` must outlive this.
  // optimizer_slice: ZeRO-1's part of the moments and the padded buffer length (kernels/train_device.h);
  // the default (padded_total 0) is every parameter, unpadded.
  DeviceTrainingModel(const ModelConfig& config, TrainDevice& device, Precision precision,
                      const std::vector<float>& params, const std::vector<uint8_t>& decay_mask,
                      OptimizerSlice optimizer_slice = {});
  ~DeviceTrainingModel();
  DeviceTrainingModel(const DeviceTrainingModel&) = delete;
  DeviceTrainingModel& operator=(const DeviceTrainingModel&) = delete;

  const ModelConfig& config() const { return config_; }
  Precision precision() const { return precision_; }
  TrainDevice& device() { return *device_; }

  // As model_loss, on the device: forward, fused classifier/loss, and with `backward` the gradients
  // accumulated into the device gradient buffer. token_weights (host, [N]) nullptr = 1;
  // token_logprobs (host, [N]) optional.
  LossResult loss(const Batch& batch, const ForwardOptions& options, const float* token_weights, TokenLoss loss_kind,
                  bool backward, float* token_logprobs = nullptr);

  // The two halves of a loss whose token weights depend on the forward's log-probs (the preference
  // losses, train/dpo.h): the forward and every position's log-prob (host [N]) ...
  void forward_logprobs(const Batch& batch, const ForwardOptions& options, float* token_logprobs);
  // ... then, over the activations that forward kept, the classifier's gradient with these token
  // weights (host [N]) and the backward pass, accumulated into the gradient buffer.
  void backward_with_token_weights(const Batch& batch, const float* token_weights, TokenLoss loss_kind);
  // After a forward of `batch`: each position's sum of logits over the vocabulary, hidden · (the sum
  // of lm_head's rows), from the fp32 weights (host [N]).
  void logit_sums(const Batch& batch, float* sums);

  void zero_gradients() { device_->zero_gradients(); }
  void download_gradients(std::vector<float>& grads);
  void download_parameters(std::vector<float>& params);
  void upload_parameters(const std::vector<float>& params);

 private:
  class Layer;  // the layer recipe's execution context (device_transformer.cpp)
  struct Activations {  // one layer's, as LayerActivations
    float *x, *rstd_attn, *q, *k, *v, *q_rstd, *k_rstd, *attn, *lse, *x_mid, *rstd_ffn, *gate, *up;
  };
  void reserve(int64_t tokens);
  void release_activations();
  float* floats(int64_t count);
  void prepare_inputs(const Batch& batch, const float* token_weights);
  void forward(const Batch& batch, const ForwardOptions& options);
  void backward(const Batch& batch);
  // The classifier over hidden_ (the gradient into d_hidden_ and the lm_head gradient with want_grad).
  ClassifierStats classify(int64_t n, bool want_grad, TokenLoss loss_kind, bool want_logprobs);
  // Products with a weight of the layout: the fp32 master in fp32 mode, the bf16 copy in bf16 mode.
  GemmOperand weight(const float* w) const;
  void linear(const float* x, const float* w, float* y, int64_t n, int64_t out, int64_t in, bool accumulate);
  void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, int64_t n, int64_t out,
                       int64_t in, bool accumulate_dx);

  ModelConfig config_;
  TrainDevice* device_;
  Precision precision_;
  int64_t total_ = 0;
  ModelViews params_, grads_;  // device pointers into the parameter and gradient buffers
  int rope_ = -1;
  int64_t rope_positions_ = 0;
  // activations and scratch (device), grown to the largest batch
  int64_t capacity_ = 0;
  std::vector<void*> owned_;
  std::vector<Activations> layers_;
  float *x_final_ = nullptr, *rstd_final_ = nullptr, *hidden_ = nullptr, *h_ = nullptr, *act_ = nullptr;
  float *d_x_ = nullptr, *d_h_ = nullptr, *d_tmp_ = nullptr, *d_q_ = nullptr, *d_k_ = nullptr, *d_v_ = nullptr,
        *d_attn_ = nullptr, *d_gate_ = nullptr, *d_up_ = nullptr, *d_hidden_ = nullptr;
  float *token_weights_ = nullptr, *token_logprobs_ = nullptr;
  float *vocab_ones_ = nullptr, *lm_head_row_sum_ = nullptr, *logit_sums_ = nullptr;  // logit_sums
  int32_t *tokens_ = nullptr, *targets_ = nullptr, *positions_ = nullptr, *doc_start_ = nullptr;
  bool has_doc_start_ = false;
};

}  // namespace tt
