#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "events/events.hpp"

using namespace vigil;

TEST_CASE("utf8_sanitize keeps valid UTF-8 and escapes invalid bytes", "[events]") {
  CHECK(utf8_sanitize("plain/path") == "plain/path");
  CHECK(utf8_sanitize("caf\xc3\xa9") == "caf\xc3\xa9");
  CHECK(utf8_sanitize("a\xff" "b") == "a\\xffb");
  CHECK(utf8_sanitize("\xc0\xaf") == "\\xc0\\xaf");        // overlong '/'
  // A literal "\xNN" is not an escaped byte: its backslash is \x5c, so the
  // byte 0xFF and the four characters \xff never render alike.
  CHECK(utf8_sanitize("\\xff") == "\\x5cxff");
  CHECK(utf8_sanitize("\xff") != utf8_sanitize("\\xff"));
  CHECK(utf8_sanitize("a\\b\\xF0\\x4") == "a\\b\\xF0\\x4");  // nothing that reads as an escape: as is
  CHECK(utf8_sanitize("\\\xff") == "\\\\xff");  // a backslash before an escaped byte: \ then \xff
  CHECK(utf8_sanitize("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
  CHECK(utf8_sanitize("\xe2\x82") == "\\xe2\\x82");        // truncated sequence
}

TEST_CASE("events with non-UTF-8 argv serialise to valid JSON", "[events]") {
  auto p = std::make_shared<Process>();
  p->pid = 42;
  p->exe = "/bin/\xfftool";
  p->argv = {"tool", "\x80\x81"};
  Event ev;
  ev.seq = 7;
  ev.type = "exec";
  ev.proc = p;
  Context ctx;
  ctx.sensor_id = "s1";
  auto line = to_json_line(ev, ctx);
  auto parsed = nlohmann::json::parse(line);  // throws on invalid JSON
  CHECK(parsed["metadata"]["uid"] == "s1:7");
  CHECK(parsed["process"]["file"]["path"] == "/bin/\\xfftool");
  CHECK(parsed["process"]["file"]["name"] == "\\xfftool");
  CHECK(parsed["unmapped"]["process"]["args"][1] == "\\x80\\x81");
}

TEST_CASE("rfc3339_ns prints UTC with nanoseconds", "[events]") {
  CHECK(rfc3339_ns(1'700'000'000'123'456'789) == "2023-11-14T22:13:20.123456789Z");
}

TEST_CASE("Sha256 gives the standard digests, each object on its own", "[events][sha256]") {
  // FIPS 180-2 test vectors.
  Sha256 empty;
  CHECK(empty.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc, two;
  abc.update("a", 1);
  two.update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56);
  abc.update("bc", 2);
  CHECK(abc.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(two.hex() == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST_CASE("cut_value: at most max bytes, whole UTF-8 characters, and how much was cut", "[events][alert-cap]") {
  CHECK(cut_value("short") == "short");
  const std::string fits(kAlertValueMaxBytes, 'a');
  CHECK(cut_value(fits) == fits);
  const std::string big = "cmd " + std::string(1'200'000, 'A');
  const std::string c = cut_value(big);
  CHECK(c.size() <= kAlertValueMaxBytes);
  REQUIRE_THAT(c, Catch::Matches("cmd A+\\.\\.\\.\\[\\d+ bytes cut\\]"));
  const size_t kept = c.find("...[");
  CHECK(kept + std::stoul(c.substr(kept + 4)) == big.size());  // what is shown + what is cut = the value
  CHECK(cut_value(c) == c);  // a cut value is not cut again
  // A character is never split: 3-byte characters (U+20AC) from byte 0.
  std::string euros;
  for (int i = 0; i < 2000; ++i) euros += "\xe2\x82\xac";
  const std::string e = cut_value(euros);
  CHECK(e.size() <= kAlertValueMaxBytes);
  CHECK(e.find("...[") % 3 == 0);
  CHECK(utf8_sanitize(e) == e);  // valid UTF-8: no \xNN from a split character
  // Bytes that are not UTF-8 are one character each.
  const std::string raw = cut_value(std::string(300, '\xff'), 256);
  CHECK(raw.size() <= 256);
  CHECK(raw.find("...[") + std::stoul(raw.substr(raw.find("...[") + 4)) == 300);
}

TEST_CASE("output_value escapes what would change how the output line reads", "[events][output-escape]") {
  CHECK(output_value("/etc/caf\xc3\xa9 \xf0\x9f\x94\x91 ok") == "/etc/caf\xc3\xa9 \xf0\x9f\x94\x91 ok");  // printable UTF-8 as is
  // A newline and the text of a forged alert line after it: one line, the text shown.
  CHECK(output_value("x\n15:56:53.938250257: Critical Sensor died") == "x\\x0a15:56:53.938250257: Critical Sensor died");
  CHECK(output_value("\r\t\x1b[8m\x7f") == "\\x0d\\x09\\x1b[8m\\x7f");                // C0, ESC, DEL
  CHECK(output_value("a\xc2\x85" "b\xc2\x9b" "c") == "a\\xc2\\x85b\\xc2\\x9bc");  // C1 (NEL, CSI)
  CHECK(output_value("\xd8\x9c\xe2\x80\x8e\xe2\x80\x8f") == "\\xd8\\x9c\\xe2\\x80\\x8e\\xe2\\x80\\x8f");  // U+061C U+200E U+200F
  for (const char* bidi : {"\xe2\x80\xaa", "\xe2\x80\xae", "\xe2\x81\xa6", "\xe2\x81\xa9", "\xe2\x80\xa8", "\xe2\x80\xa9"}) {
    INFO(bidi);  // U+202A, U+202E, U+2066, U+2069, U+2028, U+2029
    CHECK(output_value(bidi).starts_with("\\xe2\\x"));
    CHECK(output_value(bidi).size() == 12);
  }
  CHECK(output_value("\xe2\x80\xad\xe2\x80\xb0") == "\\xe2\\x80\\xad\xe2\x80\xb0");  // U+202D escaped, U+2030 (per mille) not
  // Unambiguous: a backslash is \\, so the value "\x0a" (4 characters) differs from a newline.
  CHECK(output_value("\\x0a") == "\\\\x0a");
  CHECK(output_value("a\xff" "b") == "a\\xffb");  // a byte not valid UTF-8, as utf8_sanitize writes it
  // Cut after escaping: within max, never inside an escape, N counts the value's bytes.
  const std::string nl(5000, '\n');
  const std::string e = output_value(nl);
  CHECK(e.size() <= kAlertValueMaxBytes);
  const size_t shown = e.find("...[");
  REQUIRE(shown != std::string::npos);
  CHECK(shown % 4 == 0);  // whole \x0a's
  CHECK(shown / 4 + std::stoul(e.substr(shown + 4)) == nl.size());
  CHECK(e.find('\n') == std::string::npos);
}
