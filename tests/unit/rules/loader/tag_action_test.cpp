// The tag action's display-name label and verstat (docs/rules.md "tag"): the
// YAML keys and their errors with positions, the compiled action, the
// artifact round trip, validation of a hostile artifact, and that a changed
// label or verstat is a changed rule.
#include <gtest/gtest.h>

#include "rules/compiled/access.h"
#include "rules/compiled/artifact.h"
#include "rules/compiler/compiler.h"
#include "rules/model/compare.h"
#include "rules/model/model_text.h"
#include "tests/unit/rules/test_util.h"

namespace sipwall::rules::test {
namespace {

std::string rule(const std::string& action) {
  return kHead + "rules:\n  - id: a\n    match: {caller: {prefix: \"+86\"}}\n    action: " + action + "\n";
}

class TagAction : public ::testing::Test {
 protected:
  Lines errors(const std::string& yaml) {
    const LoadResult r = dir.load(yaml);
    EXPECT_FALSE(r.ok());
    Lines out;
    for (const std::string& l : dir.lines(r))
      if (l.find(": warning: ") == std::string::npos) out.push_back(l);
    return out;
  }
  Action action_of(const std::string& yaml) {
    LoadResult r = dir.load(yaml);
    EXPECT_TRUE(r.ok()) << (dir.lines(r).empty() ? "" : dir.lines(r)[0]);
    if (!r.ok() || r.rule_set->rules.empty()) return {};
    return r.rule_set->rules[0].action;
  }
  std::unique_ptr<CompiledRuleSet> compile_ok(const std::string& yaml) {
    LoadResult r = dir.load(yaml);
    EXPECT_TRUE(r.ok()) << (dir.lines(r).empty() ? "" : dir.lines(r)[0]);
    if (!r.ok()) return nullptr;
    CompileResult c = compile(*r.rule_set);
    EXPECT_TRUE(c.set) << (c.diagnostics.empty() ? "" : c.diagnostics[0].message);
    return std::move(c.set);
  }
  TempDir dir;
};

TEST_F(TagAction, LabelAndVerstatAreRead) {
  const Action a =
      action_of(rule("{tag: {score: 90, header: X-Risk, label: \"[骚扰]\", verstat: TN-Validation-Failed}}"));
  EXPECT_EQ(a.kind, ActionKind::tag);
  EXPECT_EQ(a.tag_header, "X-Risk");
  EXPECT_EQ(a.tag_label, "[骚扰]");
  EXPECT_EQ(a.tag_verstat, Verstat::tn_validation_failed);
  EXPECT_EQ(to_string(a),
            "tag X-Risk \"score={score}; rule={rule}\" score 90 label \"[骚扰]\" verstat "
            "TN-Validation-Failed");
  const Action b = action_of(rule("{tag: {score: 10, label: \"SPAM?\"}}"));
  EXPECT_EQ(b.tag_label, "SPAM?");
  EXPECT_EQ(b.tag_verstat, Verstat::none);
  EXPECT_EQ(b.tag_header, "X-Sipwall-Risk");  // the header stays, whatever else is added
  const Action c = action_of(rule("{tag: {score: 10, verstat: No-TN-Validation}}"));
  EXPECT_TRUE(c.tag_label.empty());
  EXPECT_EQ(c.tag_verstat, Verstat::no_tn_validation);
  EXPECT_EQ(action_of(rule("{tag: {score: 10, verstat: TN-Validation-Passed}}")).tag_verstat,
            Verstat::tn_validation_passed);
  // Inner spaces are kept; 64 bytes is the most.
  EXPECT_EQ(action_of(rule("{tag: {score: 1, label: \"Likely spam\"}}")).tag_label, "Likely spam");
  EXPECT_EQ(action_of(rule("{tag: {score: 1, label: \"" + std::string(64, 'x') + "\"}}")).tag_label.size(), 64u);
}

TEST_F(TagAction, BadLabelsHavePositions) {
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: \"a\\\"b\"}}")),
            Lines{"r.yaml:6:37: tag 'label' must not contain '\"' or '\\' (it goes inside a quoted display name), "
                  "got 'a\"b'"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: 'a\\b'}}")),
            Lines{"r.yaml:6:37: tag 'label' must not contain '\"' or '\\' (it goes inside a quoted display name), "
                  "got 'a\\b'"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: \"a\\r\\nX-Evil: 1\"}}")),
            Lines{"r.yaml:6:37: tag 'label' must be UTF-8 text without control characters, got "
                  "'a\\x0D\\x0AX-Evil: 1'"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: \"a\\tb\"}}")),
            Lines{"r.yaml:6:37: tag 'label' must be UTF-8 text without control characters, got 'a\\x09b'"});
  // A C1 control (U+0085, NEL) is a control character too.
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: \"a\\u0085b\"}}")),
            Lines{"r.yaml:6:37: tag 'label' must be UTF-8 text without control characters, got 'a\\xC2\\x85b'"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: \"\"}}")),
            Lines{"r.yaml:6:37: tag 'label' must be 1..64 bytes, got 0"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: \"" + std::string(65, 'x') + "\"}}")),
            Lines{"r.yaml:6:37: tag 'label' must be 1..64 bytes, got 65"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: \"SPAM \"}}")),
            Lines{"r.yaml:6:37: tag 'label' must not start or end with a space (one is added after it), got "
                  "'SPAM '"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, label: [a]}}")), Lines{"r.yaml:6:37: 'label' must be a text, got a list"});
}

TEST_F(TagAction, InvalidUtf8LabelIsRefused) {
  // Written as raw bytes: YAML itself would refuse a \x escape that is not UTF-8 text.
  const std::string yaml = kHead +
                           "rules:\n  - id: a\n    match: {caller: {prefix: \"+86\"}}\n"
                           "    action:\n      tag:\n        score: 1\n        label: ab\xC3\n";
  const LoadResult r = dir.load(yaml);
  EXPECT_FALSE(r.ok());
  const Lines lines = dir.lines(r);
  ASSERT_FALSE(lines.empty());
  // yaml-cpp may refuse the bytes itself; either way the file does not load
  // and the error has a position.
  EXPECT_EQ(lines[0].rfind("r.yaml:", 0), 0u) << lines[0];
}

TEST_F(TagAction, BadVerstatSuggestsAndHasPosition) {
  EXPECT_EQ(errors(rule("{tag: {score: 1, verstat: No-TN-Validaton}}")),
            Lines{"r.yaml:6:39: tag 'verstat' must be one of TN-Validation-Passed, TN-Validation-Failed, "
                  "No-TN-Validation, got 'No-TN-Validaton'; did you mean 'No-TN-Validation'?"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, verstat: passed}}")),
            Lines{"r.yaml:6:39: tag 'verstat' must be one of TN-Validation-Passed, TN-Validation-Failed, "
                  "No-TN-Validation, got 'passed'"});
  EXPECT_EQ(errors(rule("{tag: {score: 1, lable: x}}")),
            Lines{"r.yaml:6:30: unknown key 'lable' in tag; did you mean 'label'? (allowed: header, value, score, "
                  "label, verstat)"});
}

TEST_F(TagAction, CompiledIntoTheActionAndThroughTheArtifact) {
  auto set = compile_ok(rule("{tag: {score: 70, label: \"[骚扰]\", verstat: No-TN-Validation}}"));
  ASSERT_TRUE(set);
  const ActionInfo& a = set->rule_action(0);
  EXPECT_EQ(a.kind, ActionKind::tag);
  EXPECT_EQ(set->str(a.tag_line), "X-Sipwall-Risk: score=70; rule=a");
  EXPECT_EQ(set->str(a.tag_label), "[骚扰]");
  EXPECT_EQ(a.tag_verstat, Verstat::no_tn_validation);
  EXPECT_EQ(verstat_text(a.tag_verstat), "No-TN-Validation");

  const std::string path = (dir.path() / "a.swr").string();
  ASSERT_TRUE(save_artifact(*set, path).ok);
  ArtifactLoadResult r = load_artifact(path);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.set->checksum(), set->checksum());
  EXPECT_EQ(r.set->str(r.set->rule_action(0).tag_label), "[骚扰]");
  EXPECT_EQ(r.set->rule_action(0).tag_verstat, Verstat::no_tn_validation);

  // The label and verstat are part of the content: another label, another checksum.
  auto other = compile_ok(rule("{tag: {score: 70, label: \"SPAM?\", verstat: No-TN-Validation}}"));
  ASSERT_TRUE(other);
  EXPECT_NE(other->checksum(), set->checksum());
}

TEST_F(TagAction, HostileArtifactLabelOrVerstatIsRefused) {
  auto set = compile_ok(rule("{tag: {score: 70, label: \"[骚扰]\", verstat: No-TN-Validation}}"));
  ASSERT_TRUE(set);
  CompiledRuleSetData& d = CompiledRuleSetAccess::data(*set);
  ActionInfo& a = d.actions[d.rules[0].action];
  std::string why;
  ASSERT_TRUE(validate(d, why)) << why;

  const ActionInfo keep = a;
  a.tag_label = intern_string(d, "a\"b");  // would end the quoted display name
  EXPECT_FALSE(validate(d, why));
  EXPECT_EQ(why, "tag label is not a valid display-name label");
  a.tag_label = intern_string(d, std::string(65, 'x'));
  EXPECT_FALSE(validate(d, why));
  a.tag_label = intern_string(d, "a\xC3");  // not UTF-8
  EXPECT_FALSE(validate(d, why));

  a = keep;
  a.tag_verstat = static_cast<Verstat>(9);
  EXPECT_FALSE(validate(d, why));
  EXPECT_EQ(why, "unknown verstat value");
  a = keep;
  EXPECT_TRUE(validate(d, why)) << why;
}

TEST_F(TagAction, ChangedLabelOrVerstatIsAChangedAction) {
  const Action base = action_of(rule("{tag: {score: 1, label: A, verstat: No-TN-Validation}}"));
  EXPECT_TRUE(same(base, action_of(rule("{tag: {score: 1, label: A, verstat: No-TN-Validation}}"))));
  EXPECT_FALSE(same(base, action_of(rule("{tag: {score: 1, label: B, verstat: No-TN-Validation}}"))));
  EXPECT_FALSE(same(base, action_of(rule("{tag: {score: 1, label: A, verstat: TN-Validation-Failed}}"))));
  EXPECT_FALSE(same(base, action_of(rule("{tag: {score: 1, label: A}}"))));
}

}  // namespace
}  // namespace sipwall::rules::test
