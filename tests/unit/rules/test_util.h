// Helpers for the rule-language tests: a scratch directory for rule and list
// files, and diagnostics as the strings ops see (with the scratch directory
// taken out of the paths, so expectations read "r.yaml:3:5: ...").
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "rules/loader/loader.h"
#include "rules/model/diagnostic.h"

namespace sipwall::rules::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sipwall-rules-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& content) const {
    const std::filesystem::path p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // Writes `yaml` as `name` and loads it by path.
  LoadResult load(const std::string& yaml, const std::string& name = "r.yaml", const LoadOptions& options = {}) const {
    return load_rule_set(write(name, yaml), options);
  }
  // Formatted diagnostics, scratch directory removed from paths.
  std::vector<std::string> lines(const LoadResult& r) const {
    std::vector<std::string> out;
    const std::string prefix = path_.string() + "/";
    for (const Diagnostic& d : r.diagnostics) {
      std::string s = format(d);
      for (std::size_t pos; (pos = s.find(prefix)) != std::string::npos;) s.erase(pos, prefix.size());
      out.push_back(s);
    }
    return out;
  }

 private:
  std::filesystem::path path_;
};

// The first two lines of most fixtures.
inline const std::string kHead = "version: \"1\"\ndial_plan: {preset: china}\n";

using Lines = std::vector<std::string>;

}  // namespace sipwall::rules::test
