#include <gtest/gtest.h>
#include <sys/stat.h>

#include "control/daemon/control_config.h"
#include "tests/unit/control/daemon/test_util.h"

namespace sipwall::control {
namespace {

std::optional<ControlConfig> load(const std::string& yaml, std::vector<std::string>& errors) {
  return load_control_config_from_string(yaml, "control.yaml", errors);
}

TEST(ControlConfig, MinimalConfigGetsDefaults) {
  std::vector<std::string> errors;
  auto c = load("rules:\n  file: /etc/sipwall/rules.yaml\n", errors);
  ASSERT_TRUE(c) << (errors.empty() ? "" : errors[0]);
  EXPECT_EQ(c->rules_file, "/etc/sipwall/rules.yaml");
  EXPECT_EQ(c->debounce_ms, 300u);
  // A Unix socket by default: who may scrape is who may open it (issue 17).
  EXPECT_EQ(c->metrics_listen, "unix:/run/sipwall/metrics.sock");
  EXPECT_EQ(c->metrics_unix, "/run/sipwall/metrics.sock");
  EXPECT_EQ(c->metrics_mode, 0660u);
  EXPECT_TRUE(c->metrics_users.empty());
  EXPECT_EQ(c->dataplane_socket, "/run/sipwall/dataplane.sock");
  EXPECT_EQ(c->control_socket, "/run/sipwall/control.sock");
  EXPECT_EQ(c->store_dir, "/var/lib/sipwall/store");
  EXPECT_EQ(c->keep, 10u);
  EXPECT_TRUE(c->compile_isolated);
}

TEST(ControlConfig, EveryKeyIsRead) {
  std::vector<std::string> errors;
  auto c = load(R"(
rules: {file: r.yaml, debounce_ms: 150}
store: {dir: /s, keep: 3, history_max: 50, current_link: /s/current.swr}
compile: {isolate: false, timeout_s: 60}
dataplane: {socket: /d.sock, poll_interval_ms: 250, request_timeout_ms: 900, load_timeout_ms: 30000}
control: {socket: /c.sock, mode: "0600", group: ""}
metrics: {listen: "[::1]:9100"}
trace: {dir: /t, max_bytes: 8192, keep: 2, drain_max: 100}
log: {level: debug}
)",
                errors);
  ASSERT_TRUE(c) << (errors.empty() ? "" : errors[0]);
  EXPECT_EQ(c->debounce_ms, 150u);
  EXPECT_EQ(c->keep, 3u);
  EXPECT_EQ(c->history_max, 50u);
  EXPECT_EQ(c->current_link, "/s/current.swr");
  EXPECT_FALSE(c->compile_isolated);
  EXPECT_EQ(c->compile_timeout_s, 60u);
  EXPECT_EQ(c->poll_interval_ms, 250u);
  EXPECT_EQ(c->request_timeout_ms, 900u);
  EXPECT_EQ(c->load_timeout_ms, 30000u);
  EXPECT_EQ(c->control_socket_mode, 0600u);
  EXPECT_EQ(c->metrics_host, "::1");
  EXPECT_EQ(c->metrics_port, 9100);
  EXPECT_EQ(c->trace_max_bytes, 8192u);
  EXPECT_EQ(c->trace_keep, 2u);
  EXPECT_EQ(c->trace_drain_max, 100u);
  EXPECT_EQ(c->log_level, "debug");
}

TEST(ControlConfig, ErrorsNameFileLineAndColumn) {
  std::vector<std::string> errors;
  auto c = load("rules:\n  file: r.yaml\n  debounse_ms: 100\ntrace:\n  keep: many\n", errors);
  EXPECT_FALSE(c);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].rfind("control.yaml:3:3: unknown key 'debounse_ms' in rules; did you mean 'debounce_ms'?", 0), 0u)
      << errors[0];
  EXPECT_EQ(errors[1], "control.yaml:5:9: 'keep' must be an integer from 0 to 1000, got 'many'");
}

TEST(ControlConfig, ReportsEveryMistakeInOnePass) {
  std::vector<std::string> errors;
  auto c = load(R"(rules: {file: r.yaml}
store: {keep: 0}
compile: {isolate: maybe}
control: {mode: "0999"}
metrics: {listen: "localhost"}
log: {level: loud}
nonsense: 1
)",
                errors);
  EXPECT_FALSE(c);
  // In file order; every column points at the offending key or value.
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "control.yaml:2:15: 'keep' must be between 1 and 10000, got 0",
                        "control.yaml:3:20: 'isolate' must be true or false, got 'maybe'",
                        "control.yaml:4:17: 'mode' must be an octal file mode such as \"0660\", got '0999'",
                        "control.yaml:5:19: listen: 'localhost' is not host:port (or unix:PATH for a Unix socket)",
                        "control.yaml:6:14: 'level' must be trace, debug, info, warn, error, critical or off, got "
                        "'loud'",
                        "control.yaml:7:1: unknown key 'nonsense' in the configuration (allowed: rules, store, "
                        "compile, dataplane, control, metrics, trace, log, fleet, records)",
                    }));
}

// The one YAML reader (rules/yaml/reader.h): a key written twice is an error
// (before: the second silently won), and only true/false are booleans (as in
// rule files; before, yaml-cpp also took yes/no/on/off here).
TEST(ControlConfig, DuplicateKeysAndLooseBooleansAreErrors) {
  std::vector<std::string> errors;
  EXPECT_FALSE(load("rules: {file: r.yaml}\nstore:\n  keep: 3\n  keep: 4\ncompile: {isolate: yes}\n", errors));
  EXPECT_EQ(errors, (std::vector<std::string>{
                        "control.yaml:4:3: duplicate key 'keep' (first at control.yaml:3:3)",
                        "control.yaml:5:20: 'isolate' must be true or false, got 'yes'",
                    }));
}

// Before: a 130-character path passed --check-config and failed at start.
TEST(ControlConfig, SocketPathsMustFitAUnixSocketAddress) {
  std::vector<std::string> errors;
  std::string long_path = "/run/sipwall/" + std::string(117, 's') + ".sock";  // 135 bytes
  std::string ok_path = "/" + std::string(106, 's');                          // 107: the most there is
  EXPECT_FALSE(
      load("rules: {file: r.yaml}\ndataplane:\n  socket: " + long_path + "\ncontrol:\n  socket: " + long_path + "\n",
           errors));
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].rfind("control.yaml:3:11: socket: the socket path is 135 bytes long; a Unix socket path has "
                            "at most 107 (sockaddr_un): /run/sipwall/sss",
                            0),
            0u)
      << errors[0];
  EXPECT_EQ(errors[1].rfind("control.yaml:5:11: socket: the socket path is 135 bytes long", 0), 0u) << errors[1];
  errors.clear();
  EXPECT_TRUE(load("rules: {file: r.yaml}\ncontrol: {socket: " + ok_path + "}\n", errors)) << errors[0];
}

TEST(ControlConfig, FleetSectionIsReadAndChecked) {
  std::vector<std::string> errors;
  auto c = load("rules: {file: r.yaml}\n", errors);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->fleet.enabled);  // no fleet: section, no Redis
  c = load(R"(
rules: {file: r.yaml}
fleet: {redis: "[::1]:7000", user: sipwall, password_file: /etc/sipwall/redis.pass, appliance: pop1-a,
        prefix: "f1:", interval_ms: 250, heartbeat_ms: 500, heartbeat_ttl_s: 5, timeout_ms: 100,
        retry_max_ms: 3000, max_bundle_mb: 64}
)",
           errors);
  ASSERT_TRUE(c) << errors[0];
  EXPECT_TRUE(c->fleet.enabled);
  EXPECT_EQ(c->fleet.redis, "[::1]:7000");
  EXPECT_EQ(c->fleet.appliance, "pop1-a");
  EXPECT_EQ(c->fleet.prefix, "f1:");
  EXPECT_EQ(c->fleet.interval_ms, 250u);
  EXPECT_EQ(c->fleet.max_bundle_mb, 64u);

  errors.clear();
  EXPECT_FALSE(
      load("rules: {file: r.yaml}\nfleet:\n  redis: \"host:99999\"\n  appliance: \"a b\"\n"
           "  heartbeat_ms: 5000\n  heartbeat_ttl_s: 2\n  redsi: x\n",
           errors));
  ASSERT_EQ(errors.size(), 4u) << errors[0];
  // In file order, every mistake in one pass.
  EXPECT_EQ(errors[0], "control.yaml:3:10: redis: 'host:99999': the port must be 1 to 65535");
  EXPECT_NE(errors[1].find("control.yaml:4:14: appliance: an appliance id may hold only letters"), std::string::npos)
      << errors[1];
  EXPECT_NE(errors[2].find("heartbeat_ttl_s must be longer than heartbeat_ms"), std::string::npos) << errors[2];
  EXPECT_NE(errors[3].find("control.yaml:7:3: unknown key 'redsi' in fleet; did you mean 'redis'?"), std::string::npos)
      << errors[3];
  errors.clear();
  EXPECT_FALSE(load("rules: {file: r.yaml}\nfleet: {redis: 127.0.0.1}\n", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("appliance"), std::string::npos) << errors[0];
}

TEST(ControlConfig, RulesFileIsRequired) {
  std::vector<std::string> errors;
  EXPECT_FALSE(load("store: {dir: /x}\n", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("rules: is required"), std::string::npos) << errors[0];
}

TEST(ControlConfig, YamlSyntaxErrorHasAPosition) {
  std::vector<std::string> errors;
  EXPECT_FALSE(load("rules:\n  file: [a, b\n", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].rfind("control.yaml:", 0), 0u);
  EXPECT_NE(errors[0].find(":3:"), std::string::npos) << errors[0];  // yaml-cpp reports where it gave up
}

TEST(ControlConfig, MissingFileIsAnError) {
  std::vector<std::string> errors;
  EXPECT_FALSE(load_control_config("/nonexistent/control.yaml", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "/nonexistent/control.yaml: cannot read the configuration file: No such file or directory");
}

// Issue 12: every YAML reader refuses alias cycles and alias bombs before
// walking the tree (rules/yaml/limits.h), with file:line:col.
TEST(ControlConfig, AliasCycleAndAliasBombAreRefused) {
  std::vector<std::string> errors;
  EXPECT_FALSE(load("rules: &r\n  file: *r\n", errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "control.yaml:2:9: YAML alias '*r' is inside the node its anchor '&r' (line 1) names: "
            "a node cannot contain itself");
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", *a" : "*a") + std::to_string(i - 1);
    bomb += "]\n";
  }
  errors.clear();
  EXPECT_FALSE(load(bomb, errors));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find(": YAML aliases expand this document to more than"), std::string::npos) << errors[0];
}

TEST(ControlConfig, FifoIsRefusedNotWaitedOn) {
  test::TempDir dir;
  const auto fifo = dir / "c.yaml";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::vector<std::string> errors;
  EXPECT_FALSE(load_control_config(fifo.string(), errors));  // before: blocked until a writer came
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], fifo.string() + ": cannot read the configuration file: a FIFO, not a regular file");
}

TEST(ControlConfig, ReadsAFile) {
  test::TempDir dir;
  test::write_file(dir / "c.yaml", "rules:\n  file: rules.yaml\nmetrics:\n  listen: \"\"\n");
  std::vector<std::string> errors;
  auto c = load_control_config((dir / "c.yaml").string(), errors);
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->metrics_listen.empty());  // /metrics off
  EXPECT_EQ(c->source_file, (dir / "c.yaml").string());
}

TEST(ControlConfig, MetricsWebConfigAndUnixSocket) {
  test::TempDir dir;
  // sha256-crypt of "secret" (python3 -c 'import crypt; print(crypt.crypt("secret", "$5$saltsalt"))').
  test::write_file(dir / "web.yml",
                   "basic_auth_users:\n  prometheus: \"$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA\"\n");
  std::vector<std::string> errors;
  auto c = load(
      "rules: {file: r.yaml}\nmetrics: {listen: \"127.0.0.1:9464\", web_config: " + (dir / "web.yml").string() + "}\n",
      errors);
  ASSERT_TRUE(c) << (errors.empty() ? "" : errors[0]);
  EXPECT_EQ(c->metrics_port, 9464);
  EXPECT_TRUE(c->metrics_unix.empty());
  ASSERT_EQ(c->metrics_users.size(), 1u);
  EXPECT_EQ(c->metrics_users.at("prometheus").rfind("$5$saltsalt$", 0), 0u);

  c = load("rules: {file: r.yaml}\nmetrics: {listen: \"unix:/run/x/m.sock\", mode: \"0600\", group: adm}\n", errors);
  ASSERT_TRUE(c) << (errors.empty() ? "" : errors[0]);
  EXPECT_EQ(c->metrics_unix, "/run/x/m.sock");
  EXPECT_EQ(c->metrics_mode, 0600u);
  EXPECT_EQ(c->metrics_group, "adm");

  // A password where a hash belongs, a certificate that is not there, mode on TCP.
  test::write_file(dir / "bad.yml",
                   "basic_auth_users:\n  p: secret\ntls_server_config: {cert_file: x, key_file: web.yml}\n");
  errors.clear();
  EXPECT_FALSE(load("rules: {file: r.yaml}\nmetrics: {listen: \"127.0.0.1:9\", mode: \"0600\", web_config: " +
                        (dir / "bad.yml").string() + "}\n",
                    errors));
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_NE(errors[0].find("mode applies to a Unix socket"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("bad.yml:2:6: the password of 'p' must be a bcrypt"), std::string::npos) << errors[1];
  EXPECT_NE(errors[2].find("cert_file: cannot read " + (dir / "x").string()), std::string::npos) << errors[2];
}

TEST(ListenAddress, ParsesAndChecks) {
  std::string host, why;
  std::uint16_t port = 0;
  EXPECT_TRUE(parse_listen_address("127.0.0.1:9464", host, port, &why));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9464);
  EXPECT_TRUE(parse_listen_address("[::1]:80", host, port, &why));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(parse_listen_address("127.0.0.1:0", host, port, &why));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:70000", host, port, &why));
  EXPECT_FALSE(parse_listen_address(":9464", host, port, &why));
  EXPECT_FALSE(parse_listen_address("::1:9464", host, port, &why));
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
}

}  // namespace
}  // namespace sipwall::control
