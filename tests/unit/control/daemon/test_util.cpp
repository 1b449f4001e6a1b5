#include "tests/unit/control/daemon/test_util.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sipwall::control::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sipwall-control-test-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
}

std::filesystem::path source_dir() {
  if (const char* e = std::getenv("SIPWALL_SOURCE_DIR")) return e;
  return SIPWALL_SOURCE_DIR_DEFAULT;
}

}  // namespace sipwall::control::test
