#include "control/fleet/fleet_agent.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "control/client/time_util.h"
#include "control/fleet/bundle_files.h"
#include "control/fleet/fleet_blocks.h"
#include "control/fleet/fleet_lifts.h"
#include "control/fleet/fleet_store.h"
#include "control/fleet/fleet_view.h"
#include "rules/io/file_input.h"
#include "rules/text/safe_text.h"

namespace sipwall::fleet {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

RedisAddress address_of(const FleetOptions& o) {
  RedisAddress a;
  std::string why;
  parse_redis_address(o.redis, a, &why);  // checked when the configuration was read
  a.user = o.user;
  a.timeout_ms = static_cast<int>(o.timeout_ms);
  return a;
}

}  // namespace

FleetAgent::FleetAgent(FleetOptions opts, fs::path rules_file, fs::path state_dir, Hooks hooks)
    : opts_(std::move(opts)),
      rules_file_(std::move(rules_file)),
      backup_dir_(std::move(state_dir) / "fleet-backup"),
      hooks_(std::move(hooks)),
      keys_{opts_.prefix},
      link_(address_of(opts_)),
      backoff_(opts_.interval_ms, opts_.retry_max_ms) {
  since_ = control::iso8601_ms(control::now_ns());
}

bool FleetAgent::open(std::string& error) {
  if (opts_.password_file.empty()) return true;
  std::string pw;
  if (!io::read_whole_file(opts_.password_file, io::kConfigFile, pw, error)) return false;
  if (auto nl = pw.find_first_of("\r\n"); nl != std::string::npos) pw.resize(nl);
  if (pw.empty()) {
    error = opts_.password_file + ": the Redis password file is empty";
    return false;
  }
  link_.set_password(std::move(pw));
  return true;
}

std::int64_t FleetAgent::now_ms() const {
  return control::now_ns() / 1'000'000;
}

void FleetAgent::redis_failed(const std::string& why) {
  c_.redis_errors++;
  const bool was_up = c_.redis_up;
  c_.redis_up = false;
  const std::int64_t mono =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
  backoff_.failed(mono);
  due_ = Clock::now() + std::chrono::milliseconds(backoff_.next_ms() - mono);
  // One line per change of state, not one per retry.
  if (was_up || !redis_known_) {
    if (was_up) c_.redis_outages++;
    spdlog::warn(
        "fleet: Redis {} unreachable ({}); filtering goes on with the running rule set, retrying with back-off",
        link_.where(), why);
  }
  redis_known_ = true;
  redis_error_ = why;
}

void FleetAgent::redis_ok() {
  if (!c_.redis_up) {
    if (redis_known_)
      spdlog::info("fleet: Redis {} reachable again: resynchronising", link_.where());
    else
      spdlog::info("fleet: Redis {} reachable, appliance '{}'", link_.where(), opts_.appliance);
  }
  c_.redis_up = true;
  redis_known_ = true;
  redis_error_.clear();
  backoff_.succeeded();
}

void FleetAgent::tick() {
  const Clock::time_point now = Clock::now();
  if (now >= due_) heads_tick();
  if (opts_.view_percent != 0 && now >= view_due_) {
    if (c_.redis_up && link_.connected() && !applying_)
      view_tick();
    else
      view_due_ = now + std::chrono::milliseconds(opts_.view_interval_ms);  // fail-static: local detection goes on
  }
}

void FleetAgent::heads_tick() {
  due_ = Clock::now() + std::chrono::milliseconds(opts_.interval_ms);
  std::string err;
  std::uint64_t cur = 0, gen = 0;
  if (!read_heads(link_, keys_, cur, gen, err)) {
    if (!link_.connected()) return redis_failed(err);
    spdlog::warn("fleet: {}", err);  // a value we cannot read: nothing to apply
  } else {
    redis_ok();
    current_seq_ = cur;
    blocks_gen_ = gen;
    if (state_ == "pending" && hooks_.report()["dataplane_checksum"] == pending_checksum_) {
      state_ = "ok";  // the data plane came back and runs it
      reason_.clear();
      since_ = control::iso8601_ms(control::now_ns());
      spdlog::info("fleet: version {} runs (the data plane loaded it)", c_.running_seq);
      next_heartbeat_ = {};
    }
    if (cur != 0 && cur != handled_seq_ && !applying_) apply(cur);
    if (!link_.connected()) return;  // apply() met a connection error
    if (!applying_ && (blocks_applied_gen_ != gen || blocks_identity_ != hooks_.dataplane_identity())) sync_blocks(gen);
    if (!link_.connected()) return;
  }
  if (Clock::now() >= next_heartbeat_) heartbeat();
}

void FleetAgent::refuse(std::uint64_t seq, const std::string& reason) {
  handled_seq_ = seq;
  state_ = "refused";
  reason_ = reason;
  since_ = control::iso8601_ms(control::now_ns());
  c_.refused++;
  spdlog::error("fleet: version {} refused, the running rule set stays: {}", seq, reason);
  next_heartbeat_ = {};  // report it now
}

void FleetAgent::apply(std::uint64_t seq) {
  std::string err;
  const std::uint64_t max_bytes = std::uint64_t{opts_.max_bundle_mb} << 20;
  std::optional<Manifest> m = fetch_manifest(link_, keys_, seq, max_bytes, err);
  if (!m) {
    if (!link_.connected()) return redis_failed(err);
    return refuse(seq, err);
  }
  std::vector<std::string> contents;
  if (!fetch_contents(link_, keys_, *m, contents, err)) {
    if (!link_.connected()) return redis_failed(err);
    return refuse(seq, err);
  }
  // Verified even when it already runs: a bundle whose bytes do not match
  // its manifest is reported, whatever checksum it claims.
  if (hooks_.running_checksum() == m->checksum) {
    handled_seq_ = seq;
    state_ = "ok";
    reason_.clear();
    running_version_ = m->version;
    c_.running_seq = seq;
    spdlog::info("fleet: version {} ({} {}, {}) already runs here", seq, m->name, m->version, m->checksum);
    next_heartbeat_ = {};
    return;
  }
  const fs::path dir = rules_file_.parent_path().empty() ? fs::path(".") : rules_file_.parent_path();
  if (!install_files(dir, rules_file_.filename().string(), *m, contents, backup_dir_, err)) {
    std::string err2;
    restore_files(dir, backup_dir_, err2);
    return refuse(seq, "cannot write the rule files: " + err);
  }
  spdlog::info("fleet: version {} ({} {}, {}, published {} by {}): {} file(s) written, reloading", seq, m->name,
               m->version, m->checksum, m->published_at, text::printable(m->publisher), m->files.size());
  applying_ = std::move(*m);
  state_ = "applying";
  reason_.clear();
  hooks_.reload();
}

void FleetAgent::reload_finished(const json& reply) {
  if (!applying_) return;
  const Manifest m = std::move(*applying_);
  applying_.reset();
  auto str = [&](const char* k) {
    auto it = reply.find(k);
    return it != reply.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const bool ok = reply.contains("ok") && reply["ok"].is_boolean() && reply["ok"].get<bool>();
  if (!ok && hooks_.running_checksum() == m.checksum) {
    // The set compiled and is the one published to the data plane, which
    // did not answer (down, restarting, busy): the reload queue loads it when
    // it is back. Not a refusal: the files stay.
    handled_seq_ = m.seq;
    c_.running_seq = m.seq;
    running_version_ = m.version;
    state_ = "pending";
    reason_ = str("stage") + ": " + str("error");
    pending_checksum_ = m.checksum;
    since_ = control::iso8601_ms(control::now_ns());
    spdlog::warn("fleet: version {} waits for the data plane: {}", m.seq, reason_);
    next_heartbeat_ = {};
    return;
  }
  if (!ok) {
    std::string reason = str("stage") + ": " + str("error");
    std::string err;
    const fs::path dir = rules_file_.parent_path().empty() ? fs::path(".") : rules_file_.parent_path();
    if (!restore_files(dir, backup_dir_, err)) spdlog::error("fleet: cannot put the previous rule files back: {}", err);
    refuse(m.seq, reason);
    return;
  }
  handled_seq_ = m.seq;
  c_.running_seq = m.seq;
  running_version_ = m.version;
  since_ = control::iso8601_ms(control::now_ns());
  const std::string here = hooks_.running_checksum();
  if (here != m.checksum) {
    // Loaded, but this appliance's compiler made another set of the same
    // files (another sipwall version): it runs, and says so.
    state_ = "mismatch";
    reason_ = "compiled here to checksum " + here + ", published as " + m.checksum;
    spdlog::warn("fleet: version {} loaded, but {}", m.seq, reason_);
  } else {
    state_ = "ok";
    reason_.clear();
    spdlog::info("fleet: version {} ({} {}) runs", m.seq, m.name, m.version);
  }
  c_.applied++;
  next_heartbeat_ = {};
  if (c_.redis_up) heartbeat();  // fleet status shows it at once
}

// Holds every fleet block that has not expired in the data plane, and lifts
// the ones that were removed. Done again when the generation moves, and when
// the data plane restarted or changed rule sets (a new detector definition
// starts empty). A data plane that does not answer: tried again next turn.
void FleetAgent::sync_blocks(std::uint64_t gen) {
  std::vector<Block> blocks;
  std::size_t bad = 0;
  std::string err;
  if (!read_blocks(link_, keys_, blocks, bad, err)) {
    if (!link_.connected()) return redis_failed(err);
    spdlog::warn("fleet: blocks: {}", err);
    return;
  }
  if (bad) spdlog::warn("fleet: {} entries of {} are not blocks this version reads: ignored", bad, keys_.blocks());
  const std::string identity = hooks_.dataplane_identity();
  const std::int64_t now = now_ms();
  known_blocks_.clear();
  for (const Block& b : blocks) known_blocks_[b.field()] = b;
  std::map<std::string, std::int64_t> next;
  std::uint64_t view_held = 0;
  for (const Block& b : blocks) {
    if (b.until_ms <= now) continue;
    std::optional<json> reply = hooks_.dataplane_request(json{{"v", 1},
                                                              {"cmd", "detections-hold"},
                                                              {"key", b.key},
                                                              {"detector", b.detector},
                                                              {"for_ms", b.until_ms - now},
                                                              {"level", b.level},
                                                              {"by", b.from_view() ? b.by : "fleet block by " + b.by}});
    if (!reply) return;  // the data plane is away: all again next turn
    if (!reply->value("ok", false)) {
      c_.block_errors++;
      if (!held_.count(b.field()) && blocks_applied_gen_ != gen)
        spdlog::warn("fleet: block of {} in {} not held here: {}", text::printable(b.key), text::printable(b.detector),
                     text::printable(reply->value("error", std::string()), 300));
      continue;
    }
    if (!held_.count(b.field()))
      spdlog::info("fleet: holding {} in {} at {} until {} ({}{})", text::printable(b.key), text::printable(b.detector),
                   b.level, control::iso8601_ms(b.until_ms * 1'000'000), b.from_view() ? "" : "by ",
                   text::printable(b.by));
    next[b.field()] = b.until_ms;
    if (b.from_view()) view_held++;
  }
  for (const auto& [field, until] : held_) {
    if (next.count(field) || until <= now) continue;
    const std::size_t tab = field.find('\t');
    const std::string det = field.substr(0, tab), key = field.substr(tab + 1);
    std::optional<json> reply =
        hooks_.dataplane_request(json{{"v", 1}, {"cmd", "detections-lift"}, {"key", key}, {"detector", det}});
    if (!reply) return;
    spdlog::info("fleet: block of {} in {} lifted", text::printable(key), text::printable(det));
  }
  held_ = std::move(next);
  c_.blocks_held = held_.size();
  c_.view_held = view_held;
  if (!apply_lifts()) return;  // Redis or the data plane away: again next turn
  blocks_applied_gen_ = gen;
  blocks_identity_ = identity;
}

// Sends every unexpired lift note not applied here yet to the data plane's
// `detections-lift` (fleet_lifts.h). False when Redis or the data plane did
// not answer: the notes not applied yet are tried again at the next turn.
bool FleetAgent::apply_lifts() {
  std::vector<LiftNote> notes;
  std::size_t bad = 0;
  std::string err;
  if (!read_lifts(link_, keys_, notes, bad, err)) {
    if (!link_.connected())
      redis_failed(err);
    else
      spdlog::warn("fleet: lifts: {}", err);
    return false;
  }
  if (bad) spdlog::warn("fleet: {} entries of {} are not lift notes this version reads: ignored", bad, keys_.lifts());
  const std::int64_t now = now_ms();
  std::set<std::uint64_t> present;
  for (const LiftNote& n : notes) {
    present.insert(n.id);
    if (n.until_ms <= now || lifts_done_.count(n.id)) continue;
    json req{{"v", 1}, {"cmd", "detections-lift"}, {"key", n.key}};
    if (!n.detector.empty()) req["detector"] = n.detector;
    std::optional<json> reply = hooks_.dataplane_request(req);
    if (!reply) return false;
    lifts_done_.insert(n.id);
    const auto ok = reply->find("ok"), error = reply->find("error"), lifted = reply->find("lifted");
    if (ok == reply->end() || !ok->is_boolean() || !ok->get<bool>()) {
      spdlog::warn("fleet: lift of {} from {} not applied here: {}", text::printable(n.key), text::printable(n.from),
                   error != reply->end() && error->is_string() ? text::printable(error->get<std::string>(), 300)
                                                               : std::string("no reason given"));
      continue;
    }
    c_.lifts_applied++;
    spdlog::info("fleet: lift of {}{} from {} by {}: {} detection(s) lifted here", text::printable(n.key),
                 n.detector.empty() ? "" : " in " + text::printable(n.detector), text::printable(n.from),
                 text::printable(n.by),
                 lifted != reply->end() && lifted->is_number_unsigned() ? lifted->get<std::uint64_t>() : 0);
  }
  std::erase_if(lifts_done_, [&](std::uint64_t id) { return !present.count(id); });
  return true;
}

json FleetAgent::publish_lift(const std::string& key, const std::string& detector, const std::string& by) {
  auto local_only = [&](const std::string& why) {
    spdlog::warn("fleet: lift of {} applied on this appliance only, not published to the fleet: {}",
                 text::printable(key), text::printable(why, 300));
    return json{{"published", false}, {"error", why}};
  };
  if (key.size() > 600 || detector.size() > 256) return local_only("the key or detector is too long for a lift note");
  // In back-off: Redis was unreachable at the last call; do not wait for it again.
  if (redis_known_ && !c_.redis_up) return local_only("Redis " + link_.where() + " unreachable (" + redis_error_ + ")");
  LiftNote note{0, key, detector, now_ms() + kLiftNoteMs, by, control::iso8601_ms(control::now_ns()), opts_.appliance};
  LiftWritten w;
  std::string err;
  if (!write_lift(link_, keys_, note, now_ms(), w, err)) {
    if (!link_.connected()) redis_failed(err);
    return local_only(err);
  }
  redis_ok();
  lifts_done_.insert(w.id);  // lifted here already
  c_.lifts_published++;
  // The blocks removed are lifted here at the next turn, with the others.
  due_ = Clock::now();
  spdlog::info("fleet: lift of {}{} by {} published to the fleet (note {}), {} fleet block(s) removed",
               text::printable(key), detector.empty() ? "" : " in " + text::printable(detector), text::printable(by),
               w.id, w.blocks_removed);
  return json{{"published", true}, {"id", w.id}, {"blocks_removed", w.blocks_removed}};
}

// The fleet view (fleet_view.h): push this appliance's hot keys, read the
// fleet's totals back, and write a global detection for each key whose
// total is over a threshold (or extend one about to end while it still is).
// The agents hold it through sync_blocks() like an operator's block.
void FleetAgent::view_tick() {
  const auto interval = std::chrono::milliseconds(opts_.view_interval_ms);
  view_due_ = Clock::now() + interval;
  std::optional<json> reply =
      hooks_.dataplane_request(json{{"v", 1}, {"cmd", "detections"}, {"all", 1}, {"min_percent", opts_.view_percent}});
  if (!reply) return;  // the data plane is away: its shares age out of Redis with the window
  std::string err;
  std::optional<DataplaneView> v = parse_dataplane_view(*reply, err);
  if (!v) {
    if (!view_warned_) spdlog::warn("fleet: view: {}", text::printable(err, 300));
    view_warned_ = true;
    return;
  }
  if (v->report_percent > opts_.view_percent && !view_warned_) {
    spdlog::warn(
        "fleet: view: the data plane's detection.report_percent ({}) is above fleet.view_percent ({}): keys in between "
        "are not reported to its merge, so this appliance may not count them for the fleet",
        v->report_percent, opts_.view_percent);
    view_warned_ = true;
  }
  const std::vector<HotKey> push = keys_to_push(*v, opts_.view_percent);
  std::vector<std::uint32_t> windows;
  std::set<std::string> fields;
  for (const HotKey& k : push) {
    windows.push_back(v->detectors.at(k.detector).window_ms);
    fields.insert(k.field());
  }
  std::vector<std::string> withdrawn;
  for (const std::string& f : pushed_)
    if (!fields.count(f)) withdrawn.push_back(f);
  const std::int64_t now = now_ms();
  std::vector<std::map<std::string, std::string>> totals;
  if (!push_and_read(link_, keys_, opts_.appliance, push, windows, withdrawn, now, totals, err)) {
    if (!link_.connected()) return redis_failed(err);
    spdlog::warn("fleet: view: {}", err);
    return;
  }
  pushed_ = std::move(fields);
  c_.view_pushes += push.size();
  c_.view_reads += totals.size();
  c_.view_keys = push.size();

  // Over a threshold fleet-wide: a global detection, held at least `keep`
  // (three view turns) beyond the turn that last saw it over.
  const std::int64_t keep = 3 * std::int64_t{opts_.view_interval_ms};
  std::vector<Block> writes;
  std::vector<std::string> stale;
  for (std::size_t i = 0; i < push.size() && i < totals.size(); ++i) {
    const ViewDetector& d = v->detectors.at(push[i].detector);
    const FleetTotal t = fleet_total(totals[i], now, d.window_ms);
    const std::string level = d.level_of(t.total);
    if (level.empty()) continue;
    const std::string field = push[i].field();
    auto it = known_blocks_.find(field);
    const bool live = it != known_blocks_.end() && it->second.until_ms > now;
    if (live && !it->second.from_view()) continue;  // an operator's block of the key: it stays as ops set it
    const bool higher = live && it->second.level == "warn" && level == "block";
    if (live && !higher && it->second.until_ms >= now + keep) continue;  // held long enough already
    Block b{push[i].key,
            push[i].detector,
            now + std::max<std::int64_t>(d.block_for_ms, 2 * keep),
            "fleet detection: " + shares_text(t) + " > " + std::to_string(level == "block" ? d.block : d.warn),
            control::iso8601_ms(control::now_ns()),
            "view",
            level};
    if (live && !higher) b.until_ms = std::max(b.until_ms, it->second.until_ms);
    if (!live || higher) {
      c_.view_detections++;
      spdlog::info("fleet: global detection of {} in {} at {}: {}", text::printable(b.key), text::printable(b.detector),
                   level, text::printable(b.by));
    }
    writes.push_back(std::move(b));
  }
  for (const auto& [f, b] : known_blocks_)
    if (b.from_view() && b.until_ms <= now) stale.push_back(f);
  if (writes.empty() && stale.empty()) return;
  if (!write_view_blocks(link_, keys_, writes, stale, err)) {
    if (!link_.connected()) return redis_failed(err);
    spdlog::warn("fleet: view: {}", err);
    return;
  }
  for (const std::string& f : stale) known_blocks_.erase(f);
  for (Block& b : writes) known_blocks_[b.field()] = std::move(b);
}

void FleetAgent::heartbeat() {
  next_heartbeat_ = Clock::now() + std::chrono::milliseconds(opts_.heartbeat_ms);
  std::map<std::string, std::string> f = hooks_.report();
  f["appliance"] = opts_.appliance;
  f["host"] = hostname();
  f["pid"] = std::to_string(::getpid());
  f["seq"] = std::to_string(c_.running_seq);
  f["handled_seq"] = std::to_string(handled_seq_);  // the last version applied, refused or found running
  f["state"] = state_;
  f["reason"] = reason_;
  f["since"] = since_;
  f["redis_outages"] = std::to_string(c_.redis_outages);
  f["blocks_gen"] = blocks_applied_gen_ ? std::to_string(*blocks_applied_gen_) : "";
  f["blocks_held"] = std::to_string(c_.blocks_held);
  std::string err;
  if (!write_heartbeat(link_, keys_, opts_.appliance, f, now_ms(), std::int64_t{opts_.heartbeat_ttl_s} * 1000, err)) {
    if (!link_.connected()) return redis_failed(err);
    spdlog::warn("fleet: heartbeat: {}", err);
    return;
  }
  c_.heartbeats++;
}

json FleetAgent::status_json() const {
  json j{{"appliance", opts_.appliance},
         {"redis", link_.where()},
         {"prefix", opts_.prefix},
         {"redis_up", c_.redis_up},
         {"redis_outages", c_.redis_outages},
         {"redis_errors", c_.redis_errors},
         {"current_seq", current_seq_},
         {"running_seq", c_.running_seq},
         {"running_version", running_version_},
         {"state", state_},
         {"since", since_},
         {"applied", c_.applied},
         {"refused", c_.refused},
         {"blocks_gen", blocks_gen_},
         {"blocks_held", c_.blocks_held},
         {"block_errors", c_.block_errors},
         {"lifts_published", c_.lifts_published},
         {"lifts_applied", c_.lifts_applied}};
  if (opts_.view_percent != 0)
    j["view"] = json{{"percent", opts_.view_percent}, {"interval_ms", opts_.view_interval_ms},
                     {"keys", c_.view_keys},          {"pushes", c_.view_pushes},
                     {"reads", c_.view_reads},        {"detections", c_.view_detections},
                     {"held", c_.view_held}};
  if (!reason_.empty()) j["reason"] = reason_;
  if (!c_.redis_up && redis_known_) {
    j["redis_error"] = redis_error_;
    j["retry_in_ms"] = backoff_.delay_ms();
  }
  return j;
}

}  // namespace sipwall::fleet
