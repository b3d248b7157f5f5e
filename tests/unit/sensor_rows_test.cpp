// The adaptive filter's row set (sensor/rows.hpp): no kernel needed.
#include <catch2/catch.hpp>

#include <fcntl.h>

#include <algorithm>
#include <map>
#include <string>

#include "rules_test_util.hpp"
#include "sensor/rows.hpp"

using namespace vigil;
using namespace rt;

namespace {

// syscall -> why, for the rows chosen.
std::map<std::string, std::string> chosen(const RowWants& w) {
  std::map<std::string, std::string> out;
  for (const auto& r : choose_rows(probes::table(), w)) out[r.row->syscall] = r.why;
  return out;
}

std::map<std::string, std::string> with_rules(const std::string& yaml, bool events = false, bool exact = false) {
  auto e = engine_text(yaml);
  RowWants w;
  w.rules = &e->interest();
  w.all_events = events;
  w.exact_exits = exact;
  return chosen(w);
}

size_t always_count() {
  size_t n = 0;
  for (const auto& p : probes::table()) n += (p.feeds & (probes::kFeedIdentity | probes::kFeedGuard | probes::kFeedRoot)) != 0;
  return n;
}

}  // namespace

TEST_CASE("rows: no rule and no sink leaves out every row but identity and the guard", "[rows]") {
  auto rows = chosen(RowWants{});
  CHECK(rows.size() == always_count());
  CHECK(rows.at("execve") == "process identity (always)");
  CHECK(rows.at("kill") == "sensor guard (always)");
  CHECK(rows.at("ptrace") == "sensor guard (always)");
  for (const char* r : {"chroot", "pivot_root", "setns", "unshare", "mount", "umount2", "move_mount", "seccomp"})
    CHECK(rows.at(r) == "path resolver's root cache (always)");
  // Write-opens: the resolver refuses the sensor's /proc entries (oom_score_adj), the guard denies.
  // And truncate: vigil's journal (sensor/guard.hpp protect_spool).
  for (const char* r : {"open", "openat", "openat2", "creat", "truncate"}) CHECK(rows.at(r) == "sensor guard (always)");
  CHECK_FALSE(rows.count("unlinkat"));
  CHECK_FALSE(rows.count("exit_group"));
  CHECK_FALSE(rows.count("renameat2"));
}

TEST_CASE("rows: a rule on a row brings the row in, with the rule's name", "[rows]") {
  auto rows = with_rules("- rule: rm\n  desc: d\n  condition: evt.type = unlinkat\n  output: o\n  priority: WARNING\n");
  CHECK(rows.at("unlinkat") == "rule 'rm'");
  CHECK_FALSE(rows.count("unlink"));
  CHECK_FALSE(rows.count("renameat2"));
  CHECK(rows.size() == always_count() + 1);
  // A rule on a guard row: both said.
  rows = with_rules("- rule: w\n  desc: d\n  condition: evt.type = openat\n  output: o\n  priority: WARNING\n");
  CHECK(rows.at("openat") == "rule 'w'; sensor guard (always)");
}

TEST_CASE("rows: an event sink brings every row, exit_group only with exact exit codes", "[rows]") {
  RowWants w;
  w.all_events = true;
  auto rows = chosen(w);
  CHECK(rows.size() == probes::table().size() - 1);
  CHECK(rows.at("unlinkat") == "events sink");
  CHECK(rows.at("openat") == "events sink; sensor guard (always)");
  CHECK_FALSE(rows.count("exit_group"));
  w.exact_exits = true;
  rows = chosen(w);
  CHECK(rows.size() == probes::table().size());
  CHECK(rows.at("exit_group") == "--exit-codes=exact");
}

TEST_CASE("rows: a rule without evt.type brings every row", "[rows]") {
  auto rows = with_rules("- rule: sh\n  desc: d\n  condition: proc.name = sh\n  output: o\n  priority: WARNING\n");
  CHECK(rows.size() == probes::table().size() - 1);
  CHECK(rows.at("unlinkat") == "every event type (rule 'sh')");
}

TEST_CASE("rows: state a rule's field reads pulls in the rows feeding it", "[rows]") {
  // Drift: the writes, renames and links that DriftTracker follows.
  auto rows = with_rules(
      "- rule: drift\n  desc: d\n  condition: evt.type = execve and proc.is_exe_upper_layer = true\n  output: o\n"
      "  priority: WARNING\n");
  CHECK(rows.at("renameat2").starts_with("drift: a rule reads proc.is_exe_upper_layer"));
  CHECK(rows.at("openat").starts_with("drift: a rule reads proc.is_exe_upper_layer"));
  CHECK(rows.at("openat").ends_with("; sensor guard (always)"));
  CHECK(rows.count("unlinkat"));
  CHECK(rows.count("linkat"));
  CHECK_FALSE(rows.count("chmod"));
  CHECK_FALSE(rows.count("accept4"));
  // In an output only: the value shown must be right too.
  rows = with_rules("- rule: acc\n  desc: d\n  condition: evt.type = execve\n  output: x %proc.accepted_conn\n"
                    "  priority: WARNING\n");
  CHECK(rows.at("accept4").starts_with("accepted connections"));
  CHECK_FALSE(rows.count("renameat2"));
}

TEST_CASE("rows: events only a window emits pull in the rows that open it", "[rows]") {
  // A DNS answer is read by recvfrom, which is no row: the sends and connect open the DNS window.
  auto rows = with_rules("- rule: dns\n  desc: d\n  condition: evt.type = recvfrom\n  output: o\n  priority: WARNING\n");
  CHECK(rows.at("connect").starts_with("DNS window: recvfrom events (rule 'dns')"));
  CHECK(rows.count("sendmsg"));
  CHECK_FALSE(rows.count("accept4"));
  // write: the peek window (connect) and the DNS window.
  rows = with_rules("- rule: w\n  desc: d\n  condition: evt.type = write and evt.arg.protocol = stratum\n  output: o\n"
                    "  priority: WARNING\n");
  CHECK(rows.count("connect"));
  // A detector names itself.
  rows = with_rules("- detector: port_scan\n  tags: [T1046]\n");
  CHECK(rows.at("connect").find("detector port_scan") != std::string::npos);
}

TEST_CASE("rows: the default rules leave rows out", "[rows]") {
  auto e = engine_from({source_rules_dir()});
  RowWants w;
  w.rules = &e->interest();
  auto rows = chosen(w);
  INFO(rows.size() << " of " << probes::table().size());
  CHECK_FALSE(e->interest().any);  // every default rule names its evt.types
  CHECK(rows.size() < probes::table().size() - 1);
  CHECK_FALSE(rows.count("exit_group"));
}

TEST_CASE("rows: every guard row of the table is chosen whatever the rules", "[rows]") {
  auto rows = chosen(RowWants{});
  for (const auto& p : probes::table())
    if (p.feeds & probes::kFeedGuard) CHECK(rows.count(p.syscall));
}

TEST_CASE("rows: the build's row set of the default rules is what their compile chooses", "[rows]") {
  auto e = engine_from({source_rules_dir()});
  for (bool exact : {false, true}) {
    RowWants w;
    w.rules = &e->interest();
    w.exact_exits = exact;
    std::vector<const probes::Probe*> compiled, built;
    for (const auto& r : choose_rows(probes::table(), w)) compiled.push_back(r.row);
    for (const auto& r : default_rules_rows(exact)) built.push_back(r.row);
    INFO("exact exit codes: " << exact);
    CHECK(compiled == built);
  }
}

TEST_CASE("rows: the default rules are recognised byte for byte, nothing else is", "[rows]") {
  std::vector<RulesText> texts;
  std::string error;
  REQUIRE(read_rules({source_rules_dir()}, &texts, &error));
  REQUIRE(texts.size() >= 2);
  CHECK(are_default_rules(texts));
  auto changed = texts;
  changed.back().text += "\n";  // one byte more
  CHECK_FALSE(are_default_rules(changed));
  changed = texts;
  changed.front().text[changed.front().text.size() / 2] ^= 1;  // one bit
  CHECK_FALSE(are_default_rules(changed));
  changed = texts;
  changed.front().file += ".renamed.yaml";
  CHECK_FALSE(are_default_rules(changed));
  changed = texts;
  changed.pop_back();  // a file fewer
  CHECK_FALSE(are_default_rules(changed));
  changed = texts;
  changed.push_back({"/x/extra.yaml", "- list: x\n  items: []\n"});  // one more
  CHECK_FALSE(are_default_rules(changed));
  changed = {texts.back(), texts.front()};  // another order
  CHECK_FALSE(are_default_rules(changed));
  // Read from another place (the rootfs' etc/vigil/rules/): the same files, recognised.
  changed = texts;
  for (auto& t : changed) t.file = "/opt/vigil/rootfs/etc/vigil/rules/" + t.file.substr(t.file.find_last_of('/') + 1);
  CHECK(are_default_rules(changed));
}

// One table says what each file event does (events/events.hpp file_type):
// the OCSF activity, evt.is_open_*, which rules name a file to watch and the
// watch's duplicate check all read it. A file row whose type it lacks would
// be none of those (no watch for a rule on it, its inotify twin never
// deduplicated, OCSF activity "Other").
TEST_CASE("rows: every file row's type is in the file-type table", "[rows]") {
  const auto types = file_types();
  CHECK(std::is_sorted(types.begin(), types.end(), [](const FileType& a, const FileType& b) { return a.type < b.type; }));
  for (const auto& p : probes::table()) {
    if (p.cls != EventClass::FileSystem || std::string_view(p.type) == "mmap") continue;  // (a mapping: no file operation)
    INFO(p.syscall);
    REQUIRE(file_type(p.type) != nullptr);
    CHECK(file_type(p.type)->type == p.type);
  }
  CHECK(file_type("mmap") == nullptr);
  CHECK(file_type("connect") == nullptr);
  CHECK(file_type("opena") == nullptr);
}

TEST_CASE("rows: what a file event changes, by its type and open flags", "[rows]") {
  CHECK(file_change("openat", O_RDONLY) == FileChange::None);
  CHECK(file_change("openat", O_RDONLY | O_TRUNC) == FileChange::Write);
  CHECK(file_change("open", O_WRONLY) == FileChange::Write);
  CHECK(file_change("openat2", O_RDONLY | O_CREAT) == FileChange::Write);
  CHECK(file_change("creat", 0) == FileChange::Write);
  CHECK(file_change("truncate", 0) == FileChange::Write);
  CHECK(file_change("fchmodat", 0) == FileChange::Attrib);
  CHECK(file_change("lchown", 0) == FileChange::Attrib);
  for (const char* t : {"rename", "renameat2", "unlink", "rmdir", "mkdirat", "linkat", "symlink", "mknod"})
    CHECK(file_change(t, 0) == FileChange::Name);
  for (const char* t : {"dup2", "mmap", "mount", "memfd_create", "execve", "exec"}) CHECK(file_change(t, O_WRONLY) == FileChange::None);
  CHECK(is_open_type("creat"));
  CHECK(is_open_type("open_by_handle_at"));
  CHECK_FALSE(is_open_type("truncate"));
}
