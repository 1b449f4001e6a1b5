#include "control/daemon/file_watcher.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstdio>

#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::control {
namespace {

namespace fs = std::filesystem;

class FileWatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(w.init(err)) << err;
    fs::create_directories(dir / "lists");
    test::write_file(dir / "rules.yaml", "a");
    test::write_file(dir / "lists" / "a.txt", "1");
    std::vector<std::string> problems;
    w.watch({dir / "rules.yaml", dir / "lists" / "a.txt", dir / "lists" / "later.txt"}, problems);
    EXPECT_TRUE(problems.empty());
  }
  // Waits up to 1 s for events; returns the changed paths.
  std::vector<std::string> changes() {
    std::vector<std::string> changed;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{w.fd(), POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        w.read_events(changed);
        // Collect the rest of a burst.
        while (::poll(&p, 1, 50) > 0) w.read_events(changed);
        break;
      }
    }
    return changed;
  }
  static bool has(const std::vector<std::string>& v, const fs::path& p) {
    return std::find(v.begin(), v.end(), p.string()) != v.end();
  }
  test::TempDir dir;
  FileWatcher w;
};

TEST_F(FileWatcherTest, SeesAWriteInPlace) {
  test::write_file(dir / "rules.yaml", "b");
  auto c = changes();
  EXPECT_TRUE(has(c, dir / "rules.yaml"));
}

TEST_F(FileWatcherTest, SeesAnEditorsRenameOverTheFile) {
  test::write_file(dir / ".rules.yaml.swp", "new");
  changes();  // the temporary file is not watched: nothing relevant (drained)
  ASSERT_EQ(std::rename((dir / ".rules.yaml.swp").c_str(), (dir / "rules.yaml").c_str()), 0);
  auto c = changes();
  EXPECT_TRUE(has(c, dir / "rules.yaml"));
  // And the watch survives: the next save is seen too.
  test::write_file(dir / "rules.yaml", "again");
  EXPECT_TRUE(has(changes(), dir / "rules.yaml"));
}

TEST_F(FileWatcherTest, IgnoresOtherFilesInTheDirectory) {
  test::write_file(dir / "notes.txt", "x");
  test::write_file(dir / "lists" / "b.txt", "x");
  std::vector<std::string> changed;
  pollfd p{w.fd(), POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 1000), 0);     // events arrived...
  EXPECT_FALSE(w.read_events(changed));  // ...but none about a watched file
  EXPECT_TRUE(changed.empty());
}

TEST_F(FileWatcherTest, SeesAListFileAppearAndListFilesChange) {
  test::write_file(dir / "lists" / "later.txt", "new list");
  EXPECT_TRUE(has(changes(), dir / "lists" / "later.txt"));
  test::write_file(dir / "lists" / "a.txt", "2");
  EXPECT_TRUE(has(changes(), dir / "lists" / "a.txt"));
  fs::remove(dir / "lists" / "a.txt");
  EXPECT_TRUE(has(changes(), dir / "lists" / "a.txt"));
}

TEST_F(FileWatcherTest, RewatchDropsFilesNoLongerReferenced) {
  std::vector<std::string> problems;
  w.watch({dir / "rules.yaml"}, problems);
  test::write_file(dir / "lists" / "a.txt", "changed");
  std::vector<std::string> changed;
  pollfd p{w.fd(), POLLIN, 0};
  ::poll(&p, 1, 300);
  EXPECT_FALSE(w.read_events(changed));
  EXPECT_EQ(w.files().size(), 1u);
}

TEST(FileWatcher, ReportsADirectoryItCannotWatch) {
  FileWatcher w;
  std::string err;
  ASSERT_TRUE(w.init(err));
  std::vector<std::string> problems;
  w.watch({"/nonexistent-dir-for-sure/rules.yaml"}, problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("/nonexistent-dir-for-sure"), std::string::npos);
}

}  // namespace
}  // namespace sipwall::control
