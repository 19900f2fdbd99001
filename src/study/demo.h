// The embedded demo study: what `tinythink run` runs without a study file. Its text is
// configs/demo/study.yaml (a test keeps the two equal).
#pragma once
#include <string>

namespace tt::study {

const std::string& demo_study_yaml();

}  // namespace tt::study
