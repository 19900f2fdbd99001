// Output paths checked before any work starts: never replace a user's file or a directory that is
// not ours, and fail early (one line naming the path) when an output cannot be written.
#pragma once
#include <string>
#include <vector>

namespace tt {

// `dir` is about to be written as a whole directory by `verb`. Refuses an existing non-directory
// (never replaced, even with overwrite) and an existing non-empty directory holding anything other
// than `own_names` (what a previous run of the verb writes) unless `overwrite`. Also checks that
// the parent directory is writable. `option` names the argument in messages ("--out", "OUTDIR").
void check_output_directory(const std::string& dir, const std::vector<std::string>& own_names, bool overwrite,
                            const std::string& verb, const std::string& option = "--out");

// `path` is about to be written as a file: it must not be a directory, and it (if present) or its
// parent directory (if not) must be writable. `what` names the option ("--output").
void check_output_file(const std::string& path, const std::string& what);

// `output` is about to be written by the run that reads `input` (either may be missing): refuses the
// same file under any name (`./x`, a symlink, a hard link), which the output would replace. `what`
// and `input_what` name the two options ("generate --output", "--input").
void check_output_is_not_input(const std::string& output, const std::string& what, const std::string& input,
                               const std::string& input_what);

// `output` is about to be written by a run that reads the checkpoint `model` (a directory or a cached
// Hub id): refuses any of its folder's files (model.safetensors, config.json, tokenizer.json, ...)
// under any name. A model that cannot be found is left to the run to report.
void check_output_spares_model(const std::string& output, const std::string& what, const std::string& model);

// `dir` is a directory files will be written into (created with its parents if missing): it must
// not be a file, and it (if present) or its nearest existing ancestor must be writable.
void check_writable_directory(const std::string& dir, const std::string& what);

}  // namespace tt
