#include "control/daemon/compile_job.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/client/dial_plan_json.h"
#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::control {
namespace {

namespace fs = std::filesystem;

// The demo rule set and its lists, copied so a test can break them.
fs::path copy_demo(const test::TempDir& dir) {
  fs::path src = test::source_dir() / "rules" / "examples";
  fs::copy_file(src / "demo.yaml", dir / "demo.yaml");
  fs::copy(src / "lists", dir / "lists", fs::copy_options::recursive);
  return dir / "demo.yaml";
}

TEST(CompileRules, WritesTheArtifactAndDescribesIt) {
  test::TempDir dir;
  fs::path rules = copy_demo(dir);
  CompileOutput o = compile_rules(rules.string(), (dir / "out.swr").string());
  ASSERT_TRUE(o.ok) << o.failure;
  EXPECT_TRUE(fs::exists(dir / "out.swr"));
  EXPECT_EQ(o.bytes, fs::file_size(dir / "out.swr"));
  EXPECT_EQ(o.name, "demo");
  EXPECT_EQ(o.version, "2024-06-01.1");
  EXPECT_EQ(o.checksum.size(), 16u);
  EXPECT_EQ(o.rules, 7u);
  EXPECT_EQ(o.errors, 0u);
  // The rule file first, then every list file it read (what the watcher watches).
  ASSERT_EQ(o.files.size(), 5u);
  EXPECT_EQ(o.files[0], rules.string());
  bool harassment = false;
  for (const auto& f : o.files) harassment |= fs::path(f).filename() == "harassment.txt";
  EXPECT_TRUE(harassment);
  number::DialPlan plan{};
  ASSERT_TRUE(dial_plan_from_json(o.dial_plan, plan, nullptr));
  EXPECT_TRUE(plan == number::DialPlan::china());
  // Same input, same checksum (what makes "unchanged" detection work).
  CompileOutput again = compile_rules(rules.string(), (dir / "again.swr").string());
  EXPECT_EQ(again.checksum, o.checksum);
}

TEST(CompileRules, ReportsErrorsWithFileLineColumn) {
  test::TempDir dir;
  fs::path rules = copy_demo(dir);
  std::string text = test::read_file(rules);
  std::size_t at = text.find("priority: 100");
  ASSERT_NE(at, std::string::npos);
  text.replace(at, 13, "priority: high");
  test::write_file(rules, text);
  CompileOutput o = compile_rules(rules.string(), (dir / "out.swr").string());
  EXPECT_FALSE(o.ok);
  EXPECT_FALSE(fs::exists(dir / "out.swr"));
  EXPECT_EQ(o.errors, 1u);
  ASSERT_FALSE(o.diagnostics.empty());
  int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n'));
  std::string where = rules.string() + ":" + std::to_string(line) + ":";
  EXPECT_EQ(o.diagnostics[0].rfind(where, 0), 0u) << o.diagnostics[0];
  EXPECT_NE(o.failure.find(where), std::string::npos) << o.failure;
}

TEST(CompileRules, ErrorsInTheRulesAreStageCompile) {
  test::TempDir dir;
  fs::path rules = copy_demo(dir);
  fs::remove(dir / "lists" / "dnc.txt");
  EXPECT_EQ(compile_rules(rules.string(), (dir / "out.swr").string()).stage, "compile");
}

// A disk that cannot take the artifact (full, read-only, gone) is the
// appliance's problem, not the rule file's: the reload fails at "store".
TEST(CompileRules, AnArtifactThatCannotBeWrittenIsStageStore) {
  test::TempDir dir;
  fs::path rules = copy_demo(dir);
  test::write_file(dir / "not-a-dir", "x");
  CompileOutput o = compile_rules(rules.string(), (dir / "not-a-dir" / "out.swr").string());
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.stage, "store") << o.failure;
  EXPECT_NE(o.failure.find("cannot write the artifact"), std::string::npos) << o.failure;
  CompileOutput b = compile_output_from_json(nlohmann::json::parse(to_json(o).dump()));
  EXPECT_EQ(b.stage, "store");
}

// The worker refuses to start when the process that spawned it is already
// gone (its parent is then someone else): no orphaned compiler.
TEST(CompileWorker, ExitsWhenItsParentIsNotThereAnyMore) {
  test::TempDir dir;
  fs::path rules = copy_demo(dir);
  pid_t pid = ::fork();  // in a child: the worker sets its parent-death signal
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(compile_worker_main(rules.string(), (dir / "out.swr").string(), 0, ::getppid() + 100000));
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);
  EXPECT_FALSE(fs::exists(dir / "out.swr"));
}

// What the incomplete-save guard reads: entries per list, empty list files,
// whether 'rules: []' was written.
TEST(CompileRules, ReportsListEntriesAndEmptyListFiles) {
  test::TempDir dir;
  fs::path rules = copy_demo(dir);
  test::write_file(dir / "lists" / "dnc.txt", "");
  CompileOutput o = compile_rules(rules.string(), (dir / "out.swr").string());
  ASSERT_TRUE(o.ok) << o.failure;
  EXPECT_EQ(o.list_entries.at("dnc"), 0u);
  EXPECT_GT(o.list_entries.at("harassment"), 0u);
  ASSERT_EQ(o.empty_list_files.size(), 1u);
  EXPECT_EQ(o.empty_list_files[0], "dnc\t" + (dir / "lists" / "dnc.txt").string());
  EXPECT_FALSE(o.rules_written_empty);
  CompileOutput b = compile_output_from_json(nlohmann::json::parse(to_json(o).dump()));
  EXPECT_EQ(b.list_entries, o.list_entries);
  EXPECT_EQ(b.empty_list_files, o.empty_list_files);

  test::write_file(rules, "version: '1'\ndial_plan: {preset: china}\nrules: []\n");
  CompileOutput e = compile_rules(rules.string(), (dir / "empty.swr").string());
  ASSERT_TRUE(e.ok) << e.failure;
  EXPECT_EQ(e.rules, 0u);
  EXPECT_TRUE(e.rules_written_empty);
  test::write_file(rules, "version: '1'\ndial_plan: {preset: china}\n");
  EXPECT_FALSE(compile_rules(rules.string(), (dir / "cut.swr").string()).rules_written_empty);
}

// A file whose inode changed while it was being read is named; one changed
// before or (clock stepped back) "after" the window is not.
TEST(ChangedBetween, NamesAFileChangedInTheWindow) {
  test::TempDir dir;
  std::int64_t before = wall_ns();
  test::write_file(dir / "a.txt", "1");
  test::write_file(dir / "b.txt", "2");
  struct stat st {};
  ASSERT_EQ(::stat((dir / "b.txt").c_str(), &st), 0);
  std::int64_t c = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  std::vector<std::string> files{(dir / "missing").string(), (dir / "b.txt").string()};
  EXPECT_EQ(changed_between(files, c - 1, c).value_or(""), (dir / "b.txt").string());
  EXPECT_FALSE(changed_between(files, c, c + 1'000'000'000));           // changed before the read began
  EXPECT_FALSE(changed_between(files, before - 2'000'000'000, c - 1));  // "after" the read ended
}

TEST(CompileRules, MissingListFileIsAnError) {
  test::TempDir dir;
  fs::path rules = copy_demo(dir);
  fs::remove(dir / "lists" / "dnc.txt");
  CompileOutput o = compile_rules(rules.string(), (dir / "out.swr").string());
  EXPECT_FALSE(o.ok);
  ASSERT_FALSE(o.diagnostics.empty());
  EXPECT_NE(o.diagnostics[0].find("dnc.txt"), std::string::npos) << o.diagnostics[0];
}

TEST(CompileOutputJson, RoundTrips) {
  CompileOutput o;
  o.ok = true;
  o.diagnostics = {"a.yaml:1:2: warning: x"};
  o.warnings = 1;
  o.version = "v1";
  o.checksum = "00112233445566ff";
  o.files = {"a.yaml", "l.txt"};
  o.rules = 3;
  o.bytes = 99;
  o.compile_s = 0.5;
  CompileOutput b = compile_output_from_json(nlohmann::json::parse(to_json(o).dump()));
  EXPECT_EQ(b.ok, o.ok);
  EXPECT_EQ(b.diagnostics, o.diagnostics);
  EXPECT_EQ(b.version, o.version);
  EXPECT_EQ(b.checksum, o.checksum);
  EXPECT_EQ(b.files, o.files);
  EXPECT_EQ(b.rules, 3u);
  EXPECT_EQ(b.bytes, 99u);
  EXPECT_DOUBLE_EQ(b.compile_s, 0.5);
}

// CompileChild with stand-in "compilers" (shell scripts): what the parent
// makes of a child that answers, crashes, hangs or says nothing useful.
class CompileChildTest : public ::testing::Test {
 protected:
  fs::path script(const std::string& body) {
    fs::path p = dir / ("fake-" + std::to_string(++n_) + ".sh");
    test::write_file(p, "#!/bin/sh\n" + body + "\n");
    ::chmod(p.c_str(), 0755);
    return p;
  }
  CompileOutput run(const fs::path& exe, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    CompileChild c;
    std::string err;
    EXPECT_TRUE(c.start(exe.string(), "rules.yaml", (dir / "out.swr").string(), 0, timeout, err)) << err;
    for (;;) {
      pollfd p{c.fd(), POLLIN, 0};
      ::poll(&p, 1, 50);
      if (c.on_readable()) return c.finish();
      if (std::chrono::steady_clock::now() >= c.deadline()) return c.kill_timed_out();
    }
  }
  test::TempDir dir;
  int n_ = 0;
};

TEST_F(CompileChildTest, ReadsTheChildsAnswer) {
  // The child gets the documented arguments.
  fs::path exe =
      script(R"(echo "$1 $2 $3" > ")" + (dir / "args").string() +
             R"(" ; echo '{"ok":true,"version":"v9","checksum":"00000000000000aa","files":["rules.yaml"]}')");
  CompileOutput o = run(exe);
  EXPECT_TRUE(o.ok) << o.failure;
  EXPECT_EQ(o.version, "v9");
  EXPECT_EQ(test::read_file(dir / "args"), "--compile-worker rules.yaml --output\n");
}

TEST_F(CompileChildTest, ACrashIsAFailureNotACrashOfTheParent) {
  CompileOutput o = run(script("kill -SEGV $$"));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.failure.find("crashed: signal 11"), std::string::npos) << o.failure;
}

TEST_F(CompileChildTest, AHangingCompilerIsKilledAtTheTimeout) {
  auto t0 = std::chrono::steady_clock::now();
  CompileOutput o = run(script("exec sleep 30"), std::chrono::milliseconds(300));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.failure.find("timed out"), std::string::npos) << o.failure;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(CompileChildTest, GarbageOutputIsAFailure) {
  CompileOutput o = run(script("echo 'Segmentation fault?'; exit 3"));
  EXPECT_FALSE(o.ok);
  EXPECT_NE(o.failure.find("exited with status 3"), std::string::npos) << o.failure;
}

TEST_F(CompileChildTest, AMissingExecutableIsReported) {
  CompileChild c;
  std::string err;
  EXPECT_FALSE(c.start((dir / "nope").string(), "r", "o", 0, std::chrono::seconds(1), err));
  EXPECT_NE(err.find("cannot start the compiler"), std::string::npos) << err;
}

}  // namespace
}  // namespace sipwall::control
