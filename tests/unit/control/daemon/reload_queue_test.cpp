// ReloadQueue without a data plane, without root and without child
// processes: a scripted data plane (what it runs, whether it answers, whether
// it accepts a load) and a scripted compiler (what each compile produces, now
// or later), with the real artifact store and history in a temporary
// directory.
#include "control/daemon/reload_queue.h"

#include <gtest/gtest.h>

#include <deque>

#include "control/daemon/json_fields.h"
#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::control {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Waiter = ReloadQueue::Waiter;
using LoadResult = DataplaneLink::LoadResult;

// A data plane that runs what it loaded, as the store's meta file says.
class FakeDataplane : public DataplaneLink {
 public:
  explicit FakeDataplane(const ArtifactStore& store) : store_(store) {}

  State poll() override {
    ++polls;
    State s;
    s.up = up;
    if (!up) return s;
    s.version = running_version;
    s.checksum = running_checksum;
    s.artifact = running_artifact.string();
    s.started_at = started_at;
    s.uptime_s = uptime_s;
    return s;
  }
  LoadAnswer load(const fs::path& artifact) override {
    loads.push_back(artifact);
    LoadAnswer a;
    a.result = answer;
    if (answer == LoadResult::unreachable) a.error = "/run/sipwall/dataplane.sock: No such file or directory";
    if (answer == LoadResult::no_answer) a.error = "timed out";
    if (answer == LoadResult::refused) a.error = "artifact: checksum mismatch";
    if (answer == LoadResult::loaded) {
      const std::optional<json> meta = store_.meta(artifact);
      running_version = meta ? json_str(*meta, "version") : "";
      running_checksum = meta ? json_str(*meta, "checksum") : "";
      running_artifact = artifact;
    }
    a.load_ms = 0.25;
    return a;
  }

  // Goes down (socket gone): polls fail, loads do not reach it.
  void go_down() {
    up = false;
    answer = LoadResult::unreachable;
  }
  // Reachable again, the same process (its uptime went on).
  void come_back() {
    up = true;
    answer = LoadResult::loaded;
    uptime_s += 30;
  }
  // A new process that found nothing to run.
  void restart() {
    up = true;
    answer = LoadResult::loaded;
    started_at = "2026-01-01T01:00:00.000Z";
    uptime_s = 1;
    running_version.clear();
    running_checksum.clear();
    running_artifact.clear();
  }

  bool up = true;
  LoadResult answer = LoadResult::loaded;
  std::string started_at = "2026-01-01T00:00:00.000Z";
  double uptime_s = 100;
  std::string running_version, running_checksum;
  fs::path running_artifact;
  std::vector<fs::path> loads;
  int polls = 0;

 private:
  const ArtifactStore& store_;
};

// A compiler that produces what the test queued, now (or, when `later`, when
// the test calls finish()). A good result writes the artifact file unless
// `write` is off.
class FakeCompiler : public RuleCompiler {
 public:
  std::optional<CompileOutput> start_compile(const fs::path& artifact) override {
    started.push_back(artifact);
    if (later) return std::nullopt;
    return produce();
  }
  CompileOutput produce() {
    EXPECT_FALSE(results.empty()) << "a compile nobody expected";
    CompileOutput o = results.empty() ? CompileOutput{} : results.front();
    if (!results.empty()) results.pop_front();
    if (o.ok && write) test::write_file(started.back(), "artifact " + o.checksum);
    return o;
  }

  std::deque<CompileOutput> results;
  std::vector<fs::path> started;
  bool later = false;
  bool write = true;
};

constexpr const char* kRulesFile = "/etc/sipwall/rules/main.yaml";

CompileOutput compiled(const std::string& version, const std::string& checksum, std::size_t rules = 3) {
  CompileOutput o;
  o.ok = true;
  o.name = "test";
  o.version = version;
  o.checksum = checksum;
  o.rules = rules;
  o.files = {kRulesFile, "/etc/sipwall/rules/callers.txt"};
  return o;
}

CompileOutput compile_error() {
  CompileOutput o;
  o.failure = "1 error(s) in the rule files; first: main.yaml:3:5: 'action' must be one of ...";
  o.diagnostics = {"main.yaml:3:5: error: 'action' must be one of ...", "main.yaml:9:1: warning: rule never matches"};
  o.files = {kRulesFile};
  return o;
}

const std::string kSum1 = "00000000000000a1", kSum2 = "00000000000000b2", kSum3 = "00000000000000c3";

class ReloadQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    ASSERT_TRUE(store.init(err)) << err;
    queue = make_queue();
  }

  std::unique_ptr<ReloadQueue> make_queue() {
    ReloadQueue::Hooks h;
    h.started = [this](ReloadQueue::OpKind k) { started.push_back(k); };
    h.finished = [this](const json& reply, const std::vector<Waiter>& w) { replies.push_back({reply, w}); };
    h.watch = [this](const std::vector<std::string>& files) { watched = files; };
    return std::make_unique<ReloadQueue>(ReloadSettings{kRulesFile, 5, dir / "current.swr"}, store, history, metrics,
                                         dp, compiler, h);
  }

  // Runs queued operations until none is left (or one waits for its compile).
  void run() {
    for (int i = 0; i < 20 && queue->queued() > 0 && !queue->busy(); ++i) queue->start_next();
  }
  // One reload asked by `waiter`, run to its end; its reply.
  json reload(Waiter waiter, const CompileOutput& result) {
    compiler.results.push_back(result);
    queue->enqueue_reload("request", waiter);
    run();
    EXPECT_FALSE(replies.empty());
    return replies.empty() ? json() : replies.back().reply;
  }

  std::vector<fs::path> staging_files() const {
    std::vector<fs::path> v;
    for (const auto& e : fs::directory_iterator(dir / "store"))
      if (e.path().filename().string().rfind(".staging-", 0) == 0) v.push_back(e.path());
    return v;
  }
  fs::path stored(const std::string& version, const std::string& checksum) const {
    return dir / "store" / (version + "-" + checksum + ".swr");
  }

  struct Reply {
    json reply;
    std::vector<Waiter> waiters;
  };

  test::TempDir dir;
  ArtifactStore store{dir / "store"};
  History history{dir / "store" / "history.jsonl", 100};
  ControlMetrics metrics;
  FakeDataplane dp{store};
  FakeCompiler compiler;
  std::vector<Reply> replies;
  std::vector<ReloadQueue::OpKind> started;
  std::vector<std::string> watched;
  std::unique_ptr<ReloadQueue> queue;
};

TEST_F(ReloadQueueTest, ReloadCompilesStoresAndLoads) {
  const json r = reload(7, compiled("2024-06-01.1", kSum1));
  EXPECT_TRUE(json_bool(r, "ok")) << r.dump();
  EXPECT_EQ(json_str(r, "result"), "ok");
  EXPECT_EQ(json_str(r, "op"), "reload");
  EXPECT_EQ(json_str(r, "trigger"), "request");
  EXPECT_EQ(json_str(r, "version"), "2024-06-01.1");
  EXPECT_TRUE(r["previous_version"].is_null()) << "nothing ran before";
  EXPECT_EQ(replies[0].waiters, std::vector<Waiter>{7});
  const fs::path artifact = stored("2024-06-01.1", kSum1);
  EXPECT_EQ(dp.loads, std::vector<fs::path>{artifact});
  EXPECT_EQ(dp.running_checksum, kSum1);
  ASSERT_TRUE(queue->wanted());
  EXPECT_EQ(queue->wanted()->checksum, kSum1);
  EXPECT_EQ(fs::read_symlink(dir / "current.swr"), fs::absolute(artifact));
  EXPECT_EQ(watched, compiled("", "").files) << "the files the compile read are watched";
  EXPECT_TRUE(staging_files().empty());
  const std::vector<json> h = history.read();
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(json_str(h[0], "result"), "ok");
  EXPECT_EQ(json_str(h[0], "artifact"), artifact.string());
  EXPECT_EQ(metrics.reloads_ok, 1u);
  EXPECT_TRUE(metrics.last_reload_ok);
  EXPECT_EQ(started, std::vector<ReloadQueue::OpKind>{ReloadQueue::OpKind::reload});
  EXPECT_FALSE(queue->busy());
  EXPECT_EQ(queue->last_result(), h[0]);
}

TEST_F(ReloadQueueTest, SameSetAgainIsUnchangedAndNotLoadedTwice) {
  reload(1, compiled("1", kSum1));
  const json r = reload(2, compiled("1", kSum1));
  EXPECT_TRUE(json_bool(r, "ok"));
  EXPECT_EQ(json_str(r, "result"), "unchanged");
  EXPECT_EQ(json_str(r, "previous_version"), "1");
  EXPECT_EQ(dp.loads.size(), 1u);
  EXPECT_EQ(metrics.reloads_ok, 2u) << "unchanged counts as success";
}

TEST_F(ReloadQueueTest, CompileFailureKeepsTheRunningSet) {
  reload(1, compiled("1", kSum1));
  const json r = reload(2, compile_error());
  EXPECT_FALSE(json_bool(r, "ok"));
  EXPECT_EQ(json_str(r, "result"), "failed");
  EXPECT_EQ(json_str(r, "stage"), "compile");
  EXPECT_EQ(json_str(r, "error"), compile_error().failure);
  EXPECT_EQ(r["diagnostics"], json::array({"main.yaml:3:5: error: 'action' must be one of ..."}))
      << "errors only; warnings go to the log";
  EXPECT_EQ(json_str(r, "running_version"), "1");
  EXPECT_EQ(dp.loads.size(), 1u);
  EXPECT_EQ(dp.running_checksum, kSum1);
  EXPECT_EQ(queue->wanted()->checksum, kSum1);
  EXPECT_TRUE(staging_files().empty());
  EXPECT_EQ(metrics.failures_by_stage["compile"], 1u);
  EXPECT_FALSE(metrics.last_reload_ok);
  EXPECT_EQ(watched, compiled("", "").files) << "still watching what the running set read";
  // Failing again and again does not grow the watch list.
  CompileOutput other = compile_error();
  other.files = {kRulesFile, "/etc/sipwall/rules/new-list.txt"};
  reload(3, other);
  reload(4, other);
  EXPECT_EQ(watched,
            (std::vector<std::string>{kRulesFile, "/etc/sipwall/rules/callers.txt", "/etc/sipwall/rules/new-list.txt"}))
      << "and what the failed attempt read too: fixing it is what triggers the next attempt";
}

TEST_F(ReloadQueueTest, IncompleteSaveIsRefusedUnlessOnPurpose) {
  reload(1, compiled("1", kSum1, 3));
  json r = reload(2, compiled("2", kSum2, 0));  // caught while the file was empty
  EXPECT_EQ(json_str(r, "stage"), "incomplete");
  EXPECT_NE(json_str(r, "error").find("has no rules, the running one has 3"), std::string::npos) << r.dump();
  EXPECT_FALSE(fs::exists(stored("2", kSum2))) << "not stored";
  EXPECT_TRUE(staging_files().empty());
  EXPECT_EQ(dp.loads.size(), 1u);

  CompileOutput on_purpose = compiled("2", kSum2, 0);
  on_purpose.rules_written_empty = true;  // `rules: []`
  r = reload(3, on_purpose);
  EXPECT_EQ(json_str(r, "result"), "ok") << r.dump();
  EXPECT_EQ(dp.running_checksum, kSum2);
}

TEST_F(ReloadQueueTest, StoreFailures) {
  // The compiler could not write the artifact (a full disk under the store).
  CompileOutput full = compile_error();
  full.stage = "store";
  full.failure = "cannot write the artifact: No space left on device";
  json r = reload(1, full);
  EXPECT_EQ(json_str(r, "stage"), "store");
  EXPECT_EQ(json_str(r, "error"), full.failure);
  // The staged artifact is gone when it is to be committed.
  compiler.write = false;
  r = reload(2, compiled("1", kSum1));
  EXPECT_EQ(json_str(r, "stage"), "store");
  EXPECT_EQ(json_str(r, "error").rfind("cannot store the artifact: rename ", 0), 0u) << r.dump();
  EXPECT_TRUE(dp.loads.empty());
  EXPECT_FALSE(queue->wanted());
  EXPECT_EQ(metrics.failures_by_stage["store"], 2u);
}

TEST_F(ReloadQueueTest, DataplaneUnreachableThenBackIsResynced) {
  reload(1, compiled("1", kSum1));
  queue->observe(dp.poll());
  dp.go_down();
  json r = reload(2, compiled("2", kSum2));
  EXPECT_EQ(json_str(r, "stage"), "dataplane");
  EXPECT_NE(json_str(r, "error").find("data plane unreachable"), std::string::npos);
  EXPECT_NE(json_str(r, "error").find("will be loaded when it is back"), std::string::npos);
  EXPECT_TRUE(r["running_version"].is_null()) << "nobody knows what runs";
  EXPECT_EQ(queue->wanted()->checksum, kSum2) << "stored and published: pending";
  queue->observe(dp.poll());
  EXPECT_EQ(queue->queued(), 0u) << "still down: nothing to do";

  dp.come_back();
  queue->observe(dp.poll());
  ASSERT_EQ(queue->queued(), 1u) << "reachable again and not running what was published";
  run();
  r = replies.back().reply;
  EXPECT_EQ(json_str(r, "op"), "resync");
  EXPECT_EQ(json_str(r, "trigger"), "dataplane-retry");
  EXPECT_EQ(json_str(r, "result"), "ok");
  EXPECT_TRUE(replies.back().waiters.empty());
  EXPECT_EQ(dp.running_checksum, kSum2);
  queue->observe(dp.poll());
  EXPECT_EQ(queue->queued(), 0u) << "runs it now: no more resyncs";
}

TEST_F(ReloadQueueTest, NoAnswerToALoadIsRetriedToo) {
  reload(1, compiled("1", kSum1));
  dp.answer = LoadResult::no_answer;
  const json r = reload(2, compiled("2", kSum2));
  EXPECT_NE(json_str(r, "error").find("no answer to load: timed out"), std::string::npos) << r.dump();
  dp.answer = LoadResult::loaded;
  queue->observe(dp.poll());
  ASSERT_EQ(queue->queued(), 1u);
  run();
  EXPECT_EQ(dp.running_checksum, kSum2);
}

TEST_F(ReloadQueueTest, NewDataplaneInstanceGetsThePublishedSet) {
  reload(1, compiled("1", kSum1));
  queue->observe(dp.poll());
  dp.restart();
  queue->observe(dp.poll());
  ASSERT_EQ(queue->queued(), 1u);
  run();
  EXPECT_EQ(json_str(replies.back().reply, "trigger"), "dataplane-start");
  EXPECT_EQ(dp.running_checksum, kSum1);
  EXPECT_EQ(dp.loads.size(), 2u);
}

TEST_F(ReloadQueueTest, RefusedLoadIsNotRetried) {
  reload(1, compiled("1", kSum1));
  dp.answer = LoadResult::refused;
  const json r = reload(2, compiled("2", kSum2));
  EXPECT_EQ(json_str(r, "stage"), "dataplane");
  EXPECT_EQ(json_str(r, "error"), "the data plane refused the artifact: artifact: checksum mismatch");
  EXPECT_EQ(json_str(r, "running_version"), "1");
  EXPECT_EQ(r["load_ms"], 0.25);
  dp.answer = LoadResult::loaded;
  queue->observe(dp.poll());
  queue->observe(dp.poll());
  EXPECT_EQ(queue->queued(), 0u) << "it answered: a refusal is final until the next change";
  EXPECT_EQ(dp.loads.size(), 2u);
  EXPECT_EQ(dp.running_checksum, kSum1);
}

TEST_F(ReloadQueueTest, RollbackToThePreviousSet) {
  reload(1, compiled("1", kSum1));
  reload(2, compiled("2", kSum2));
  queue->observe(dp.poll());
  EXPECT_EQ(queue->enqueue_rollback("", 9), std::nullopt);
  run();
  const json r = replies.back().reply;
  EXPECT_EQ(json_str(r, "op"), "rollback");
  EXPECT_EQ(json_str(r, "result"), "ok") << r.dump();
  EXPECT_EQ(json_str(r, "previous_version"), "2");
  EXPECT_EQ(replies.back().waiters, std::vector<Waiter>{9});
  EXPECT_EQ(dp.running_checksum, kSum1);
  EXPECT_EQ(queue->wanted()->checksum, kSum1);

  // By version; and a target the store does not have.
  EXPECT_EQ(queue->enqueue_rollback("2", 10), std::nullopt);
  run();
  EXPECT_EQ(dp.running_checksum, kSum2);
  const std::optional<std::string> why = queue->enqueue_rollback("no-such-version", 11);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("no-such-version"), std::string::npos) << *why;
  EXPECT_EQ(queue->queued(), 0u);
}

TEST_F(ReloadQueueTest, RollbackWithNothingEarlierIsRefused) {
  reload(1, compiled("1", kSum1));
  queue->observe(dp.poll());
  const std::optional<std::string> why = queue->enqueue_rollback("", 9);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("no earlier rule set"), std::string::npos);
}

TEST_F(ReloadQueueTest, ReloadsQueuedDuringACompileAreCoalesced) {
  compiler.later = true;
  compiler.results = {compiled("1", kSum1), compiled("2", kSum2)};
  queue->enqueue_reload("request", 1);
  queue->start_next();
  ASSERT_EQ(queue->busy(), ReloadQueue::OpKind::reload);
  // Three more changes while it compiles: one more reload, three waiters.
  queue->enqueue_reload("watch", std::nullopt);
  queue->enqueue_reload("request", 2);
  queue->enqueue_reload("request", 3);
  EXPECT_EQ(queue->queued(), 1u);
  queue->start_next();  // busy: nothing starts
  EXPECT_EQ(compiler.started.size(), 1u);

  queue->compile_finished(compiler.produce());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].waiters, std::vector<Waiter>{1});
  queue->start_next();
  queue->compile_finished(compiler.produce());
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[1].waiters, (std::vector<Waiter>{2, 3})) << "in the order they asked";
  EXPECT_EQ(json_str(replies[1].reply, "trigger"), "watch") << "the reload that was queued first";
  EXPECT_EQ(compiler.started.size(), 2u) << "one compile for the three changes";
  EXPECT_EQ(dp.running_checksum, kSum2) << "the last saved state runs";
}

TEST_F(ReloadQueueTest, OperationsRunAndAnswerInTheOrderAsked) {
  reload(1, compiled("1", kSum1));
  reload(2, compiled("2", kSum2));
  queue->observe(dp.poll());
  replies.clear();
  compiler.later = true;
  compiler.results = {compiled("3", kSum3)};
  queue->enqueue_reload("request", 10);
  queue->start_next();
  EXPECT_EQ(queue->enqueue_rollback("1", 11), std::nullopt);
  queue->enqueue_reload("request", 12);  // queued behind the rollback: not coalesced with the running reload
  EXPECT_EQ(queue->queued(), 2u);
  queue->compile_finished(compiler.produce());
  compiler.later = false;
  compiler.results = {compiled("3", kSum3)};
  run();
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].waiters, std::vector<Waiter>{10});
  EXPECT_EQ(replies[1].waiters, std::vector<Waiter>{11});
  EXPECT_EQ(json_str(replies[1].reply, "op"), "rollback");
  EXPECT_EQ(replies[2].waiters, std::vector<Waiter>{12});
  EXPECT_EQ(json_str(replies[2].reply, "result"), "ok") << "back to 3 after the rollback to 1";
  EXPECT_EQ(dp.running_checksum, kSum3);
}

TEST_F(ReloadQueueTest, NoResyncWhileAReloadIsPending) {
  reload(1, compiled("1", kSum1));
  queue->observe(dp.poll());
  compiler.later = true;
  compiler.results = {compiled("2", kSum2)};
  queue->enqueue_reload("watch", std::nullopt);
  queue->start_next();
  dp.restart();
  queue->observe(dp.poll());
  EXPECT_EQ(queue->queued(), 0u) << "the running reload loads the newest set anyway";
  queue->compile_finished(compiler.produce());
  EXPECT_EQ(dp.running_checksum, kSum2);
}

TEST_F(ReloadQueueTest, StopAnswersEveryWaiterAndRemovesTheStagingFile) {
  compiler.later = true;
  queue->enqueue_reload("request", 1);
  queue->start_next();
  test::write_file(compiler.started.back(), "half an artifact");
  queue->enqueue_reload("request", 2);
  EXPECT_EQ(queue->stop(), (std::vector<Waiter>{1, 2}));
  EXPECT_TRUE(staging_files().empty());
  EXPECT_FALSE(queue->busy());
  EXPECT_EQ(queue->queued(), 0u);
}

TEST_F(ReloadQueueTest, RestartRestoresTheWantedSetFromTheHistory) {
  reload(1, compiled("1", kSum1));
  reload(2, compiled("2", kSum2));
  reload(3, compile_error());
  std::unique_ptr<ReloadQueue> next = make_queue();
  EXPECT_FALSE(next->wanted());
  next->restore_from_history();
  ASSERT_TRUE(next->wanted());
  EXPECT_EQ(next->wanted()->checksum, kSum2) << "the newest good entry";
  EXPECT_EQ(next->wanted()->artifact, stored("2", kSum2));
}

}  // namespace
}  // namespace sipwall::control
