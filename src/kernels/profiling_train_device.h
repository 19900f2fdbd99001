// A TrainDevice that times another one op by op (tinythink bench train --device cuda --profile): each
// kernel call runs inside an OpScope (core/op_profile.h) named like the CPU kernels' scopes, and
// waits for the device before the scope closes, so a row holds the op's device time (launch
// included) instead of the time to queue it. The waits serialise host and device: a profiled step is
// slower than an unprofiled one, and the table is for where the time goes, not for tokens/s.
#pragma once
#include <memory>

#include "kernels/train_device.h"

namespace tt {

std::unique_ptr<TrainDevice> profiled_train_device(std::unique_ptr<TrainDevice> inner);

}  // namespace tt
