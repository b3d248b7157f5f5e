// Rules language: parser, operators, lists, macros, append/override,
// exceptions, outputs, error positions, verdicts, rate limiting, alert shape.
#include <limits>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "rules/internal.hpp"
#include "rules_test_util.hpp"

using namespace vigil;
using namespace rt;

namespace {

std::string rule_yaml(const std::string& cond, const std::string& extra = "") {
  return extra + "- rule: r\n  desc: d\n  condition: '" + cond + "'\n  output: out %proc.name\n  priority: WARNING\n";
}
bool match(const std::string& cond, const Event& ev, const std::string& extra = "") {
  auto e = engine_text(rule_yaml(cond, extra));
  REQUIRE(e->rules().size() == 1);
  REQUIRE(e->rules()[0].active);
  return fires(*e, ev, "r");
}

}  // namespace

TEST_CASE("parser: precedence of not > and > or, parentheses", "[rules]") {
  using rules::Ast;
  auto a = rules::parse_condition("a or b and not c");
  REQUIRE(a->kind == Ast::Or);
  REQUIRE(a->kids.size() == 2);
  CHECK(a->kids[0]->kind == Ast::Macro);
  REQUIRE(a->kids[1]->kind == Ast::And);
  CHECK(a->kids[1]->kids[1]->kind == Ast::Not);
  auto b = rules::parse_condition("(a or b) and c");
  CHECK(b->kind == Ast::And);
  CHECK(b->kids[0]->kind == Ast::Or);
  auto c = rules::parse_condition("proc.name in (a, \"b c\", 'd') and fd.name exists and proc.aname[2]=x");
  REQUIRE(c->kind == Ast::And);
  CHECK(c->kids[0]->values == std::vector<std::string>{"a", "b c", "d"});
  CHECK(c->kids[1]->kind == Ast::Unary);
  CHECK(c->kids[2]->field == "proc.aname[2]");
  auto d = rules::parse_condition("proc.pname in (runc:[0:PARENT], runc:[1:CHILD])");
  CHECK(d->values == std::vector<std::string>{"runc:[0:PARENT]", "runc:[1:CHILD]"});
}

TEST_CASE("parser: syntax errors carry the column", "[rules]") {
  auto col = [](const std::string& s) {
    try {
      rules::parse_condition(s);
    } catch (const rules::SyntaxError& e) {
      return int(e.pos);
    }
    return -1;
  };
  CHECK(col("proc.name =") == 11);
  CHECK(col("proc.name = x and") == 17);
  CHECK(col("(proc.name = x") == 14);
  CHECK(col("proc.name in (a, b") == 18);
  CHECK(col("proc.name bogus x") == 10);
  CHECK(col("") == 0);
  CHECK(col("proc.name = \"open") == 12);
  CHECK(col("proc.name = x y") == 14);
}

TEST_CASE("operators on string, number, bool and IP fields", "[rules]") {
  Event ev = exec_ev("/usr/bin/curl", {"curl", "-s", "http://Example.com/x"});
  CHECK(match("proc.name = curl", ev));
  CHECK(match("proc.name == curl", ev));
  CHECK_FALSE(match("proc.name = curlx", ev));
  CHECK(match("proc.name != wget", ev));
  CHECK_FALSE(match("proc.name != curl", ev));
  CHECK(match("proc.cmdline contains Example", ev));
  CHECK_FALSE(match("proc.cmdline contains example", ev));
  CHECK(match("proc.cmdline icontains EXAMPLE.COM", ev));
  CHECK(match("proc.exepath startswith /usr/", ev));
  CHECK_FALSE(match("proc.exepath startswith /bin/", ev));
  CHECK(match("proc.exepath endswith /curl", ev));
  CHECK(match("proc.name in (wget, curl)", ev));
  CHECK_FALSE(match("proc.name in (wget, nc)", ev));
  CHECK(match("proc.name intersects (curl, x)", ev));
  CHECK(match("proc.exepath pmatch (/usr/bin, /opt)", ev));
  CHECK_FALSE(match("proc.exepath pmatch (/usr/b)", ev));
  CHECK(match("proc.exepath glob \"/usr/*/cu?l\"", ev));
  CHECK_FALSE(match("proc.exepath glob \"/opt/*\"", ev));
  CHECK(match("proc.cmdline regex \".*https?://[a-zA-Z]+\\.com.*\"", ev));
  CHECK_FALSE(match("proc.cmdline regex \"curl\"", ev));  // full match
  CHECK(match("proc.pid = 100", ev));
  CHECK(match("proc.pid > 99 and proc.pid >= 100 and proc.pid < 101 and proc.pid <= 100", ev));
  CHECK_FALSE(match("proc.pid < 100", ev));
  CHECK(match("proc.pid in (1, 100)", ev));
  CHECK(match("proc.is_exe_from_memfd = false", ev));
  CHECK_FALSE(match("proc.is_exe_from_memfd = true", ev));
  CHECK(match("proc.name exists", ev));
  CHECK_FALSE(match("fd.sip exists", ev));
  CHECK_FALSE(match("not proc.name exists", ev));
  Event c = connect_ev("10.1.2.3", 443);
  CHECK(match("fd.sip = 10.1.2.3", c));
  CHECK(match("fd.snet = \"10.0.0.0/8\"", c));
  CHECK_FALSE(match("fd.snet = \"192.168.0.0/16\"", c));
  CHECK(match("fd.sip in (\"192.168.0.0/16\", \"10.1.0.0/16\")", c));
  CHECK(match("fd.sport = 443 and fd.l4proto = tcp and fd.typechar = 4 and fd.type = ipv4", c));
  CHECK(match("fd.name = \"10.0.0.5:40000->10.1.2.3:443\"", c));
}

TEST_CASE("a missing field fails every operator, including !=", "[rules]") {
  Event ev = exec_ev("/bin/ls", {"ls"});
  CHECK_FALSE(match("fd.sip != 1.2.3.4", ev));
  CHECK_FALSE(match("dns.qname != x", ev));
  CHECK(match("not dns.qname = x", ev));
}

TEST_CASE("lists nest, macros nest, and both expand at compile time", "[rules]") {
  std::string defs =
      "- list: a\n  items: [bash, '\"zsh\"']\n"
      "- list: b\n  items: [a, dash]\n"
      "- macro: m1\n  condition: proc.name in (b)\n"
      "- macro: m2\n  condition: (m1 and not proc.pname = never)\n";
  CHECK(match("m2", exec_ev("/bin/zsh", {"zsh"}), defs));
  CHECK(match("m2", exec_ev("/bin/dash", {"dash"}), defs));
  CHECK_FALSE(match("m2", exec_ev("/bin/ksh", {"ksh"}), defs));
  // Order does not matter: a macro may be defined after the rule using it.
  auto e = engine_text(rule_yaml("late") + "- macro: late\n  condition: proc.name = ls\n");
  CHECK(fires(*e, exec_ev("/bin/ls", {"ls"}), "r"));
}

TEST_CASE("append and override on lists, macros and rules", "[rules]") {
  std::string y =
      "- list: l\n  items: [ls]\n"
      "- list: l\n  items: [cat]\n  append: true\n"
      "- macro: m\n  condition: proc.name in (l)\n"
      "- macro: m\n  condition: or proc.name = echo\n  override:\n    condition: append\n"
      "- rule: r\n  desc: d\n  condition: m\n  output: first\n  priority: INFO\n"
      "- rule: r\n  condition: and not proc.pname = skipme\n  append: true\n"
      "- rule: r\n  output: second %proc.name\n  priority: ERROR\n  override:\n    output: replace\n    priority: replace\n";
  auto e = engine_text(y);
  std::vector<Alert> out;
  e->evaluate(exec_ev("/bin/cat", {"cat"}), &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].priority == "Error");
  CHECK(out[0].output.find("second cat") != std::string::npos);
  CHECK(fires(*e, exec_ev("/bin/echo", {"echo"}), "r"));
  CHECK(fires(*e, exec_ev("/bin/ls", {"ls"}), "r"));
  auto skip = proc("/usr/bin/skipme", {"skipme"}, nullptr, 5);
  CHECK_FALSE(fires(*e, exec_ev("/bin/ls", {"ls"}, skip), "r"));
  // enabled: false on an existing rule disables it
  auto d = engine_text(y + "- rule: r\n  enabled: false\n");
  CHECK_FALSE(fires(*d, exec_ev("/bin/ls", {"ls"}), "r"));
  CHECK_FALSE(d->rules()[0].enabled);
  // appending to nothing is an error that names the item
  CHECK_THAT(load_error("- list: nope\n  items: [x]\n  append: true\n"),
             Catch::Contains(":1:9: list 'nope' appends to a list that is not defined before"));
}

TEST_CASE("exceptions: tuples of fields and single-field lists", "[rules]") {
  std::string y =
      "- rule: r\n  desc: d\n  condition: evt.type = openat and fd.name startswith /etc/\n  output: o\n  priority: INFO\n"
      "  exceptions:\n"
      "    - name: writer\n      fields: [proc.name, fd.directory]\n      comps: [=, =]\n"
      "      values:\n        - [apk, /etc/apk]\n"
      "    - name: readers\n      fields: proc.name\n      values: [cat, less]\n"
      "    - name: in_list\n      fields: [proc.name, fd.name]\n      comps: [=, in]\n"
      "      values:\n        - [vim, [/etc/hosts, /etc/motd]]\n";
  auto e = engine_text(y);
  CHECK(fires(*e, open_ev("/etc/apk/world", O_RDONLY, proc("/sbin/tar", {"tar"})), "r"));
  CHECK_FALSE(fires(*e, open_ev("/etc/apk/world", O_RDONLY, proc("/sbin/apk", {"apk"})), "r"));
  CHECK(fires(*e, open_ev("/etc/passwd", O_RDONLY, proc("/sbin/apk", {"apk"})), "r"));
  CHECK_FALSE(fires(*e, open_ev("/etc/passwd", O_RDONLY, proc("/bin/cat", {"cat"})), "r"));
  CHECK_FALSE(fires(*e, open_ev("/etc/motd", O_RDONLY, proc("/bin/vim", {"vim"})), "r"));
  CHECK(fires(*e, open_ev("/etc/shadow", O_RDONLY, proc("/bin/vim", {"vim"})), "r"));
}

TEST_CASE("output substitution and Falco's alert JSON shape", "[rules]") {
  auto e = engine_text(
      "- rule: Shell\n  desc: d\n  condition: evt.type in (execve, execveat) and proc.name = bash\n"
      "  output: 'Shell %proc.name (parent=%proc.pname gp=%proc.aname[2] cmd=%proc.cmdline missing=%proc.loginuid pct=100%%)'\n"
      "  priority: NOTICE\n  tags: [shell, T1059.004]\n");
  auto gp = proc("/usr/sbin/nginx", {"nginx"}, nullptr, 5);
  auto parent = proc("/usr/bin/python3", {"python3", "app.py"}, gp, 6);
  std::vector<Alert> out;
  e->evaluate(exec_ev("/bin/bash", {"bash", "-c", "id"}, parent), &out);
  REQUIRE(out.size() == 1);
  const Alert& a = out[0];
  CHECK_THAT(a.output, Catch::EndsWith("Notice Shell bash (parent=python3 gp=nginx cmd=bash -c id missing=<NA> pct=100%)"));
  CHECK_THAT(a.output, Catch::Matches("^\\d\\d:\\d\\d:\\d\\d\\.\\d{9}: Notice .*"));
  Context ctx;
  ctx.hostname = "h1";
  ctx.sensor_id = "s";
  auto j = to_json(a, ctx);
  CHECK(j["rule"] == "Shell");
  CHECK(j["priority"] == "Notice");
  CHECK(j["source"] == "syscall");
  CHECK(j["hostname"] == "h1");
  CHECK(j["tags"] == nlohmann::json::array({"shell", "T1059.004"}));
  CHECK(j["output_fields"]["proc.name"] == "bash");
  CHECK(j["output_fields"]["proc.aname[2]"] == "nginx");
  CHECK(j["output_fields"]["proc.loginuid"].is_null());  // Falco: an absent value is null
  CHECK_THAT(j["time"].get<std::string>(), Catch::Matches("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z$"));
  CHECK(j["output_fields"]["vigil.action"] == "none");
  CHECK(j["output_fields"]["vigil.count"] == 1);
  CHECK(j["output_fields"]["evt.time"] == a.time_ns);
  CHECK(j["output_fields"]["evt.type"] == "execve");
  CHECK(j["output_fields"]["proc.pid"].is_number_integer());
  CHECK(j["output_fields"]["container.id"].is_null());
  CHECK_FALSE(j.contains("vigil"));  // falcosidekick drops unknown top-level keys
}

TEST_CASE("alert values are cut to kAlertValueMaxBytes: output_fields and the output text", "[rules][alert-cap]") {
  // An argv of 1.2 MB (rules see all of it; events show 4096 bytes): before
  // the cap, the alert carried it twice (2.4 MB), past any HTTP batch.
  std::vector<std::string> argv{"cat", "/etc/shadow"};
  for (int i = 0; i < 12; ++i) argv.push_back(std::string(100'000, 'A'));
  auto p = proc("/bin/cat", argv, app());
  const std::string cmd = p->cmdline();
  auto e = engine_text(
      "- rule: Shadow\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/shadow\n"
      "  output: 'read (file=%fd.name command=%proc.cmdline args=%proc.args)'\n  priority: WARNING\n");
  std::vector<Alert> out;
  e->evaluate(open_ev("/etc/shadow", O_RDONLY, p), &out);
  REQUIRE(out.size() == 1);
  size_t cut = 0;
  for (const auto& [name, v] : out[0].output_fields) {
    REQUIRE(v.text().size() <= kAlertValueMaxBytes);  // (before the regex: std::regex recurses per character)
    if (name == "proc.cmdline") {
      REQUIRE_THAT(v.text(), Catch::Matches("cat /etc/shadow A+\\.\\.\\.\\[\\d+ bytes cut\\]"));
      cut = v.text().find("...[");
      CHECK(cut + std::stoul(v.text().substr(cut + 4)) == cmd.size());
      CHECK_THAT(out[0].output, Catch::Contains("command=" + v.text() + " args="));
    }
  }
  CHECK(cut > 0);
  CHECK(out[0].output.size() < 3 * kAlertValueMaxBytes);
  // A detector's or threat intel's alert: its fields are cut too.
  auto intel = engine_from({write_tmp("[]\n")}, 0, {write_tmp("203.0.113.0/24\n", ".txt")});
  out.clear();
  intel->evaluate(connect_ev("203.0.113.7", 443, p), &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].output.size() < 2 * kAlertValueMaxBytes);
  for (const auto& [name, v] : out[0].output_fields) CHECK(v.text().size() <= kAlertValueMaxBytes);
}

TEST_CASE("values pasted into the output are escaped; output_fields keep the true value", "[rules][output-escape]") {
  // A file name made to forge a second alert line and to hide text where the
  // output is printed (a terminal, Slack, vigil's own log lines).
  const std::string name = "/data/x\n15:56:53.938250257: Critical Sensor died (forged)\x1b[8mhidden\x1b[0m\\";
  auto e = engine_text("- rule: Data\n  desc: d\n  condition: evt.type = openat and fd.name startswith /data/\n"
                       "  output: 'written (file=%fd.name)'\n  priority: WARNING\n", 10'000'000'000);
  std::vector<Alert> out;
  Event ev = open_ev(name, O_WRONLY);
  e->evaluate(ev, &out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].output.find('\n') == std::string::npos);
  CHECK(out[0].output.find('\x1b') == std::string::npos);
  CHECK_THAT(out[0].output, Catch::EndsWith(
      "(file=/data/x\\x0a15:56:53.938250257: Critical Sensor died (forged)\\x1b[8mhidden\\x1b[0m\\\\)"));
  auto f = std::find_if(out[0].output_fields.begin(), out[0].output_fields.end(),
                        [](const auto& kv) { return kv.first == "fd.name"; });
  REQUIRE(f != out[0].output_fields.end());
  CHECK(f->second.text() == name);  // the true value: JSON escapes it
  // A repeat's object, named at the end of the window's report, escaped the same way.
  Event again = open_ev("/data/y\n15:56:54.000000000: Critical Sensor died", O_WRONLY, ev.proc);
  again.time_ns = ev.time_ns + 1;
  e->evaluate(again, &out);
  out.clear();
  e->flush(&out);
  REQUIRE(out.size() == 1);
  CHECK(out[0].output.find('\n') == std::string::npos);
  CHECK_THAT(out[0].output, Catch::Contains("in the window: /data/y\\x0a15:56:54"));
}

TEST_CASE("load errors name file, line, column and what was expected", "[rules]") {
  // condition on one line: column inside the file
  std::string e1 = load_error("- rule: r\n  desc: d\n  condition: proc.name = x and (fd.name =\n  output: o\n  priority: INFO\n");
  CHECK_THAT(e1, Catch::Matches(".*\\.yaml:3:42: rule 'r': condition column 29: expected a value after '=', got end of condition"));
  // folded block scalar: the line and column of the token in the file
  std::string e2 = load_error(
      "- rule: r\n  desc: d\n  condition: >\n    evt.type = open\n    and proc.name bogus x\n  output: o\n  priority: INFO\n");
  CHECK_THAT(e2, Catch::Matches(".*\\.yaml:5:19: rule 'r': condition column 31: expected an operator after 'proc.name', got 'bogus'"));
  CHECK_THAT(load_error("- rule: r\n  desc: d\n  condition: nomacro\n  output: o\n  priority: INFO\n"),
             Catch::Contains(":3:14: rule 'r': undefined macro 'nomacro'"));
  CHECK_THAT(load_error("- rule: r\n  desc: d\n  condition: proc.pid = abc\n  output: o\n  priority: INFO\n"),
             Catch::Contains("expected a number for field 'proc.pid', got 'abc'"));
  CHECK_THAT(load_error("- rule: r\n  desc: d\n  output: o\n  priority: INFO\n"), Catch::Contains(":1:9: rule 'r': missing 'condition'"));
  CHECK_THAT(load_error("- rule: r\n  condition: proc.name=x\n  output: o\n  priority: LOUD\n"),
             Catch::Contains(":4:13: rule 'r': expected a priority"));
  CHECK_THAT(load_error("- rule: r\n  condition: proc.name=x\n  output: o\n  priority: INFO\n  action: explode\n"),
             Catch::Contains(":5:11: expected action block, kill or none, got 'explode'"));
  CHECK_THAT(load_error("- bogus: 1\n"), Catch::Contains(":1:3: expected one of rule, macro, list"));
  CHECK_THAT(load_error("- rule: [\n"), Catch::Contains("invalid YAML"));
  CHECK_THAT(load_error("- rule: r\n  condition: proc.name regex \"(\"\n  output: o\n  priority: INFO\n"),
             Catch::Contains("invalid regular expression"));
  CHECK_THAT(load_error("- macro: m\n  condition: m\n- rule: r\n  condition: m\n  output: o\n  priority: INFO\n"),
             Catch::Contains("refers to itself"));
  CHECK_THAT(load_error("- rule: r\n  condition: proc.name=x\n  output: o\n  priority: INFO\n  exceptions:\n"
                        "    - name: e\n      fields: [proc.name]\n      comps: [bogus]\n      values: [[x]]\n"),
             Catch::Contains(":8:14: rule 'r' exception 'e': expected a comparison operator"));
  CHECK(load_error("- required_engine_version: 0.57.0\n- required_plugin_versions:\n    - name: container\n      version: 0.4.0\n") == "");
}

TEST_CASE("unsupported fields skip the rule with a warning, or fail with strict", "[rules]") {
  std::string y = "- rule: r\n  desc: d\n  condition: evt.type=open and k8s.ns.name = x\n  output: o\n  priority: INFO\n";
  RulesConfig cfg;
  cfg.files = {write_tmp(y)};
  std::string err;
  std::vector<std::string> warnings;
  auto e = Engine::load(cfg, &err, &warnings);
  REQUIRE(e);
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains("skipping rule 'r': field 'k8s.ns.name' is not provided by vigil"));
  CHECK_FALSE(e->rules()[0].active);
  CHECK(e->rules()[0].skip_reason == "field 'k8s.ns.name' is not provided by vigil");
  CHECK_THAT(load_error(y, true), Catch::Contains(":3:32: rule 'r': field 'k8s.ns.name' is not provided by vigil"));
}

TEST_CASE("verdicts: what block and kill rules ask for (sensor/judge decides what is done)", "[rules]") {
  std::string y =
      "- rule: b\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/shadow\n  output: o\n  priority: CRITICAL\n  action: block\n"
      "- rule: k\n  desc: d\n  condition: evt.type = openat and fd.name = /etc/shadow and proc.name = evil\n  output: o\n  priority: CRITICAL\n  action: kill\n";
  auto prevent = engine_text(y);
  Action v;
  std::vector<Alert> out;
  CHECK(prevent->evaluate(open_ev("/etc/shadow", O_RDONLY), &out) == Action::Denied);
  REQUIRE(out.size() == 1);
  CHECK(out[0].action == Action::Denied);
  fired(*prevent, open_ev("/etc/shadow", O_RDONLY, proc("/tmp/evil", {"evil"})), &v);
  CHECK(v == Action::Killed);
  fired(*prevent, open_ev("/etc/hosts", O_RDONLY), &v);
  CHECK(v == Action::None);
}

TEST_CASE("rate limiting keeps the count of suppressed repeats", "[rules]") {
  auto e = engine_text(rule_yaml("evt.type = openat and fd.name = /etc/shadow"), 10'000'000'000);
  auto p = proc("/bin/cat", {"cat"}, app(), 77);
  std::vector<Alert> out;
  Event ev = open_ev("/etc/shadow", O_RDONLY, p);
  for (int i = 0; i < 5; ++i) {
    ev.time_ns += 1'000'000'000;  // 1s apart: all in one 10s window
    e->evaluate(ev, &out);
  }
  REQUIRE(out.size() == 1);
  CHECK(out[0].count == 1);
  // another process is limited separately
  e->evaluate(open_ev("/etc/shadow", O_RDONLY, proc("/bin/cat", {"cat"}, app(), 78)), &out);
  CHECK(out.size() == 2);
  // after the window: one alert carrying the 4 suppressed repeats plus itself
  ev.time_ns += 20'000'000'000;
  e->evaluate(ev, &out);
  REQUIRE(out.size() == 3);
  CHECK(out[2].count == 5);
  // flush reports what is still suppressed
  ev.time_ns += 1'000'000'000;
  e->evaluate(ev, &out);
  e->evaluate(ev, &out);
  CHECK(out.size() == 3);
  std::vector<Alert> rest;
  e->flush(&rest);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].count == 2);
}

TEST_CASE("the evt.type index: typed and any-type rules, evt.type of exec events", "[rules]") {
  auto e = engine_text(rule_yaml("evt.type in (execve, execveat) and evt.dir = <") +
                       "- rule: c\n  desc: d\n  condition: evt.type = connect or (evt.type = openat and fd.name = x)\n  output: o\n  priority: INFO\n"
                       "- rule: any\n  desc: d\n  condition: proc.name = ls or not evt.type = connect\n  output: o\n  priority: INFO\n");
  CHECK(fires(*e, exec_ev("/bin/ls", {"ls"}), "r"));
  CHECK_FALSE(fires(*e, connect_ev("10.0.0.1", 80), "r"));
  CHECK(fires(*e, connect_ev("10.0.0.1", 80), "c"));
  CHECK(fires(*e, open_ev("x", O_WRONLY), "c"));
  CHECK_FALSE(fires(*e, open_ev("y", O_WRONLY), "c"));
  CHECK_FALSE(fires(*e, syscall_ev("read", {}), "c"));
  // an any-type rule runs on every event, typed ones only on theirs
  CHECK(fires(*e, syscall_ev("read", {}), "any"));
  CHECK_FALSE(fires(*e, connect_ev("10.0.0.1", 80), "any"));
  CHECK(fires(*e, connect_ev("10.0.0.1", 80, proc("/bin/ls", {"ls"})), "any"));
}

TEST_CASE("interest: the evt.types the rules, detectors and intel read, with the strongest action", "[rules]") {
  auto e = engine_text(
      "- rule: a\n  desc: d\n  condition: evt.type = connect and fd.sport = 1\n  output: o\n  priority: INFO\n"
      "- rule: b\n  desc: d\n  condition: evt.type in (connect, openat) and fd.name = x\n  output: o\n  priority: INFO\n  action: block\n"
      "- rule: k\n  desc: d\n  condition: evt.type = execve and proc.name = nc\n  output: o\n  priority: INFO\n  action: kill\n"
      "- rule: off\n  desc: d\n  condition: evt.type = ptrace\n  output: o\n  priority: INFO\n  enabled: false\n");
  const Engine::Interest& in = e->interest();
  CHECK_FALSE(in.any);
  CHECK(in.of("connect") == Action::Denied);
  CHECK(in.of("openat") == Action::Denied);
  CHECK(in.of("execve") == Action::Killed);
  CHECK_FALSE(in.of("ptrace"));  // a disabled rule reads nothing
  CHECK_FALSE(in.of("unlinkat"));
  // a rule without evt.type sees every type; detectors add their inputs
  auto any = engine_text("- rule: any\n  desc: d\n  condition: proc.name = ls\n  output: o\n  priority: INFO\n"
                         "- detector: port_scan\n  action: kill\n");
  CHECK(any->interest().of("unlinkat") == Action::None);
  CHECK(any->interest().of("sendto") == Action::Killed);
}

TEST_CASE("field catalog: Falco semantics of proc, fd, evt and user fields", "[rules]") {
  auto gp = proc("/usr/sbin/sshd", {"sshd"}, nullptr, 2);
  auto parent = proc("/bin/bash", {"-bash"}, gp, 3);
  Event ev = open_ev("/etc/../etc/shadow", O_WRONLY | O_TRUNC | O_CREAT, proc("/usr/bin/tee", {"tee", "-a", "x"}, parent));
  ev.file->path = "/etc/shadow";
  CHECK(match("proc.exe = tee and proc.exepath = /usr/bin/tee and proc.args = \"-a x\" and proc.cmdline = \"tee -a x\"", ev));
  CHECK(match("proc.pname = bash and proc.pexe = -bash and proc.aname[2] = sshd and proc.aname = sshd and proc.aname[0] = tee", ev));
  CHECK(match("proc.apid[2] = 2 and proc.ppid = 3", ev));
  CHECK(match("fd.directory = /etc and fd.filename = shadow and fd.nameraw = /etc/../etc/shadow", ev));
  CHECK(match("evt.is_open_write = true and evt.is_open_read = false and evt.arg.flags contains O_TRUNC", ev));
  CHECK(match("fd.typechar = f and fd.num >= 0 and user.uid = 0 and user.name = root", ev));
  CHECK(match("proc.duration > 5000000000", ev));
  ev.has_res = true;
  ev.res = -2;
  CHECK(match("evt.res = ENOENT and evt.rawres = -2 and fd.num = -1", ev));
  Event s = syscall_ev("ptrace", {{"request", "PTRACE_ATTACH"}});
  CHECK(match("evt.type = ptrace and evt.arg.request contains PTRACE_ATTACH and evt.args contains \"request=PTRACE\"", s));
  Event sym = file_op("symlink", "/tmp/link", "/etc/shadow");
  CHECK(match("evt.arg.target = /etc/shadow and evt.arg.linkpath = /tmp/link", sym));
  auto capped = proc("/sbin/insmod", {"insmod", "x.ko"});
  capped->cap_effective = (int64_t(1) << 16) | (int64_t(1) << 21);  // sys_module, sys_admin
  CHECK(match("thread.cap_effective contains CAP_SYS_ADMIN and thread.cap_effective icontains sys_module", syscall_ev("init_module", {}, capped)));
}

TEST_CASE("parser and loader never crash on truncated or garbled input", "[rules]") {
  std::string cond =
      "evt.type in (open, openat) and (fd.name startswith \"/etc/\" or not proc.aname[2] = 'x y') "
      "and fd.sip in (\"10.0.0.0/8\") and proc.cmdline regex \"a.*b\" and fd.name exists";
  for (size_t n = 0; n <= cond.size(); ++n) {
    INFO(cond.substr(0, n));
    try {
      rules::parse_condition(cond.substr(0, n));
    } catch (const rules::SyntaxError& e) {
      CHECK(e.pos <= n);
      CHECK_FALSE(e.msg.empty());
    }
  }
  // every byte value in a rule's condition and in the YAML itself: an error line or a load, no crash
  for (int c = 1; c < 256; ++c) {
    std::string y = "- rule: r\n  desc: d\n  condition: 'proc.name = a" + std::string(1, char(c)) + "'\n  output: o\n  priority: INFO\n";
    std::string err = load_error(y);
    if (!err.empty()) CHECK_THAT(err, Catch::Contains(".yaml:"));
  }
}

TEST_CASE("rate limiting: changes no process is known for are limited per object", "[rules]") {
  // The watch's reports it could not attribute (no process): one file's
  // repeats are counted, another file's change is alerted on its own (before,
  // the first such alert stood for every unattributed one for the window).
  auto e = engine_text("- rule: r\n  desc: d\n  condition: evt.type = openat and fd.name startswith /etc/cron.d/\n"
                       "  output: out %fd.name\n  priority: WARNING\n",
                       10'000'000'000);
  std::vector<Alert> out;
  auto unattributed = [](const std::string& path, uint64_t ino) {
    Event ev = open_ev(path, O_WRONLY);
    ev.proc = nullptr;
    ev.file->dev = 1, ev.file->ino = ino;
    return ev;
  };
  Event a = unattributed("/etc/cron.d/harmless", 10), b = unattributed("/etc/cron.d/evil", 11);
  e->evaluate(a, &out);
  a.time_ns += 1'000'000'000;
  e->evaluate(a, &out);  // a repeat: counted
  b.time_ns = a.time_ns + 1'000'000'000;
  e->evaluate(b, &out);
  REQUIRE(out.size() == 2);
  CHECK(out[0].output.find("harmless") != std::string::npos);
  CHECK(out[1].output.find("evil") != std::string::npos);
  // Not yet known by identity (ino 0): by path.
  Event c = unattributed("/etc/cron.d/third", 0);
  c.time_ns = b.time_ns;
  e->evaluate(c, &out);
  CHECK(out.size() == 3);
}

TEST_CASE("rate limiting: a window's repeats are reported when it closes, with what they were about", "[rules]") {
  // One process changes a harmless file a rule names, then, in the same
  // window, the one it cares about: the second is only counted at first, but
  // reported (its file named) once the window closes, not at exit.
  auto e = engine_text("- rule: r\n  desc: d\n  condition: evt.type = openat and fd.name startswith /etc/cron.d/\n"
                       "  output: out %fd.name\n  priority: WARNING\n",
                       10'000'000'000);
  auto p = proc("/bin/sh", {"sh"}, app(), 77);
  std::vector<Alert> out;
  Event a = open_ev("/etc/cron.d/harmless", O_WRONLY, p), b = open_ev("/etc/cron.d/evil", O_WRONLY, p);
  e->evaluate(a, &out);
  b.time_ns = a.time_ns + 1'000'000'000;
  e->evaluate(b, &out);
  a.time_ns = b.time_ns + 1'000'000'000;
  e->evaluate(a, &out);  // the window's own object again: counted, not listed
  REQUIRE(out.size() == 1);
  e->flush_due(a.time_ns + 5'000'000'000, &out);  // the window is still open
  REQUIRE(out.size() == 1);
  e->flush_due(a.time_ns + 10'000'000'000, &out);
  REQUIRE(out.size() == 2);
  CHECK(out[1].count == 2);
  CHECK(out[1].output.find("and 2 more in the window: /etc/cron.d/evil)") != std::string::npos);
  auto f = std::find_if(out[1].output_fields.begin(), out[1].output_fields.end(),
                        [](const auto& kv) { return kv.first == "vigil.repeats"; });
  REQUIRE(f != out[1].output_fields.end());
  CHECK(f->second.text() == "/etc/cron.d/evil");
  std::vector<Alert> rest;
  e->flush(&rest);  // reported once
  CHECK(rest.empty());
  // A repeat in a window that closes when the next alert comes (before any
  // flush_due): that alert carries the count and the repeats' objects.
  Event c = open_ev("/etc/cron.d/x", O_WRONLY, proc("/bin/sh", {"sh"}, app(), 78));
  Event d = open_ev("/etc/cron.d/y", O_WRONLY, proc("/bin/sh", {"sh"}, app(), 78));
  e->evaluate(c, &out);
  d.time_ns = c.time_ns + 1'000'000'000;
  e->evaluate(d, &out);
  c.time_ns = d.time_ns + 20'000'000'000;
  e->evaluate(c, &out);
  REQUIRE(out.size() == 4);
  CHECK(out[3].count == 2);
  CHECK(out[3].output.find("/etc/cron.d/y") != std::string::npos);
}

TEST_CASE("rate limiting: the repeats' objects kept are bounded in size", "[rules]") {
  // Many processes, each repeating on a long path of its own: each object is
  // kept shortened, all of them within a budget; past it a repeat is still
  // counted and reported, its object as "...".
  auto e = engine_text("- rule: r\n  desc: d\n  condition: evt.type = openat and fd.name startswith /t/\n"
                       "  output: out\n  priority: WARNING\n",
                       10'000'000'000);
  std::vector<Alert> out;
  const int kProcs = 2000;
  for (int pid = 100; pid < 100 + kProcs; ++pid) {
    auto p = proc("/bin/sh", {"sh"}, app(), pid);
    Event first = open_ev("/t/first", O_WRONLY, p), again = open_ev("/t/" + std::string(4000, 'x') + std::to_string(pid), O_WRONLY, p);
    again.time_ns = first.time_ns + 1'000'000'000;
    e->evaluate(first, &out);
    e->evaluate(again, &out);
  }
  REQUIRE(out.size() == size_t(kProcs));
  out.clear();
  e->flush_due(std::numeric_limits<int64_t>::max() / 2, &out);
  REQUIRE(out.size() == size_t(kProcs));  // every repeat reported
  size_t kept = 0, bytes = 0, elided = 0;
  for (const auto& a : out) {
    CHECK(a.count == 1);
    auto f = std::find_if(a.output_fields.begin(), a.output_fields.end(), [](const auto& kv) { return kv.first == "vigil.repeats"; });
    REQUIRE(f != a.output_fields.end());
    const std::string v = f->second.text();
    if (v == "...") ++elided;
    else {
      ++kept, bytes += v.size();
      CHECK(v.size() <= 260);
    }
  }
  CHECK(kept > 0);
  CHECK(elided > 0);
  CHECK(bytes <= 256 * 1024 + 3 * kept);
}

TEST_CASE("rate limiter memory stays bounded with many processes", "[rules]") {
  auto e = engine_text(rule_yaml("evt.type = openat and fd.name = /etc/shadow"), 1'000'000'000);
  std::vector<Alert> out;
  Event ev = open_ev("/etc/shadow", O_RDONLY);
  for (int pid = 1; pid <= 70000; ++pid) {
    ev.proc = proc("/bin/cat", {"cat"}, nullptr, pid);
    ev.time_ns += 1'000'000;  // 1ms apart: old windows close as we go
    e->evaluate(ev, &out);
    e->evaluate(ev, &out);  // a repeat, counted
  }
  CHECK(out.size() == 70000);
  ev.time_ns += 2'000'000'000;
  out.clear();
  e->evaluate(ev, &out);  // the last process again, after its window: carries its repeat
  REQUIRE(out.size() == 1);
  CHECK(out[0].count == 2);
}

TEST_CASE("named paths: what a rule on files names by path, and what for", "[rules]") {
  auto e = rt::engine_text(R"(
- macro: w
  condition: evt.type in (open, openat, openat2, creat) and evt.is_open_write = true
- rule: writes
  desc: d
  condition: (w and fd.name startswith /app/conf) or (evt.type = rename and evt.arg.newpath = /app/cron)
  output: o
  priority: WARNING
- rule: reads
  desc: d
  condition: evt.type in (open, openat) and evt.is_open_read = true and fd.name in (/app/key, /app/token) and not fd.name pmatch (/app/excluded)
  output: o
  priority: NOTICE
- rule: both
  desc: d
  condition: evt.type = openat and fd.name = /app/any
  output: o
  priority: NOTICE
  action: block
- rule: not files
  desc: d
  condition: evt.type = connect and fd.name = /run/app.sock
  output: o
  priority: NOTICE
- rule: homes
  desc: d
  condition: >
    (w and (fd.name contains /.ssh/ or fd.name contains /.config/gcloud/ or fd.name contains /tmp/
     or fd.name contains .kube or fd.name contains /../x/ or fd.name contains /.x//y/))
    or (evt.type = rename and evt.arg.newpath contains /.gnupg/trustdb and not fd.name contains /.cache/)
    or (evt.type in (open, openat) and evt.is_open_read = true and fd.name contains /.aws/)
  output: o
  priority: WARNING
- rule: globs
  desc: d
  condition: >
    w and (fd.name glob /home/*/.ssh/* or fd.name glob "/etc/app/conf.d/*.yaml" or fd.name glob "*.pem"
           or fd.name glob "/*" or not fd.name glob /var/cache/*/x)
  output: o
  priority: WARNING
)");
  // What a map of named paths says of p: "none", else "[block ]" + "w" (changes) + "r" (reads).
  auto said = [](const auto& map, const std::string& p) {
    auto it = map.find(p);
    if (it == map.end()) return std::string("none");
    return std::string(it->second.block ? "block " : "") + (it->second.write ? "w" : "") + (it->second.read ? "r" : "");
  };
  const auto& homes = e->interest().home_paths;
  auto home = [&](const std::string& p) { return said(homes, p); };
  CHECK(home(".ssh") == "w");
  CHECK(home(".config/gcloud") == "w");
  CHECK(home(".gnupg") == "w");  // a file's directory part
  CHECK(home(".aws") == "r");
  CHECK(home(".cache") == "none");  // under a `not`
  CHECK(homes.size() == 4);         // not /tmp/ (no dot-directory), .kube (no slashes), /../x/, /.x//y/
  // glob operands: their directory part (absolute, not under a `not`, not the root's "/*").
  const auto& globs = e->interest().glob_paths;
  CHECK(said(globs, "/home/*/.ssh") == "w");
  CHECK(said(globs, "/etc/app/conf.d") == "w");
  CHECK(globs.size() == 2);
  const auto& named = e->interest().named_paths;
  auto use = [&](const std::string& p) { return said(named, p); };
  CHECK(use("/app/conf") == "w");
  CHECK(use("/app/cron") == "w");
  CHECK(use("/app/key") == "r");
  CHECK(use("/app/token") == "r");
  CHECK(use("/app/any") == "block wr");
  CHECK(use("/app/excluded") == "none");  // under a `not`: an exception, not a name
  CHECK(use("/run/app.sock") == "none");  // no file row
  CHECK(named.at("/app/conf").rules == std::vector<std::string>{"writes"});
}

TEST_CASE("rules files: a directory that cannot be listed is an error, not an empty rule set", "[rules]") {
  char dir[] = "/tmp/vigil-rules-XXXXXX";
  REQUIRE(mkdtemp(dir));
  const std::string d = dir, sub = d + "/sub";
  REQUIRE(mkdir(sub.c_str(), 0700) == 0);
  REQUIRE(chmod(sub.c_str(), 0) == 0);
  // As root, permissions do not stop opendir: the check runs in a child as nobody.
  pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (chmod(d.c_str(), 0755) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                           setresuid(65534, 65534, 65534) != 0))
      _exit(3);
    std::vector<RulesText> texts;
    std::string err;
    const bool ok = read_rules({sub}, &texts, &err);
    RulesConfig cfg;
    cfg.files = {sub};
    std::string load_err;
    const bool loaded = Engine::load(cfg, &load_err) != nullptr;
    _exit(!ok && err.find(sub + ": cannot list rules directory") == 0 && !loaded &&
                  load_err.find("cannot list rules directory") != std::string::npos
              ? 0
              : 1);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  chmod(sub.c_str(), 0700);
  rmdir(sub.c_str());
  rmdir(d.c_str());
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("rules files read once: Engine::load compiles the texts given, never the files again", "[rules]") {
  // What run.cpp relies on: the bytes compared with the default rules are the bytes compiled,
  // whatever happens to the files meanwhile (a volume shared with other containers).
  const std::string path = write_tmp("- rule: on disk\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: INFO\n");
  std::vector<RulesText> texts;
  std::string err;
  REQUIRE(read_rules({path}, &texts, &err));
  REQUIRE(texts.size() == 1);
  texts[0].text = "- rule: read before\n  desc: d\n  condition: evt.type = execve\n  output: o\n  priority: INFO\n";
  RulesConfig cfg;
  cfg.files = {path};
  cfg.texts = &texts;
  auto e = Engine::load(cfg, &err);
  REQUIRE(e);
  REQUIRE(e->rules().size() == 1);
  CHECK(e->rules()[0].name == "read before");
  CHECK(e->rules()[0].file == path);  // errors and `rules list` still name the file
}
