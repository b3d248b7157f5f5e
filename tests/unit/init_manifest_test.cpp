#include <catch2/catch.hpp>

#include "init/init.hpp"

using vigil::parse_manifest;
using vigil::RootfsManifest;

namespace {
const std::string kHash(64, 'a');
const std::string kHeader = "# vigil-rootfs-manifest 1\n# version 1.2.3\n";
}  // namespace

TEST_CASE("init manifest: a valid manifest parses", "[init]") {
  RootfsManifest m;
  std::string err;
  REQUIRE(parse_manifest(kHeader + kHash + "  bin/vigil\n" + kHash + "  lib64/libc.so.6\n", &m, &err));
  CHECK(m.version == "1.2.3");
  REQUIRE(m.files.size() == 2);
  CHECK(m.files[0].path == "bin/vigil");
  CHECK(m.files[1].sha256 == kHash);
}

TEST_CASE("init manifest: bad input is rejected with the line number", "[init]") {
  RootfsManifest m;
  std::string err;
  CHECK_FALSE(parse_manifest("", &m, &err));
  CHECK_FALSE(parse_manifest("# something else\n", &m, &err));
  CHECK(err.find("line 1") != std::string::npos);
  CHECK_FALSE(parse_manifest("# vigil-rootfs-manifest 1\n" + kHash + "  bin/vigil\n", &m, &err));
  CHECK(err.find("version") != std::string::npos);
  CHECK_FALSE(parse_manifest(kHeader, &m, &err));  // no files
  const char* bad_paths[] = {"/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/", "", "MANIFEST"};
  for (const char* p : bad_paths) {
    INFO(p);
    CHECK_FALSE(parse_manifest(kHeader + kHash + "  " + p + "\n", &m, &err));
    CHECK(err.find("line 3") != std::string::npos);
  }
  CHECK_FALSE(parse_manifest(kHeader + std::string(63, 'a') + "  bin/vigil\n", &m, &err));
  CHECK_FALSE(parse_manifest(kHeader + std::string(64, 'A') + "  bin/vigil\n", &m, &err));
  CHECK_FALSE(parse_manifest(kHeader + kHash + " bin/vigil\n", &m, &err));
  CHECK_FALSE(parse_manifest(kHeader + kHash + "  b\n" + kHash + "  a\n", &m, &err));  // unsorted
  CHECK(err.find("line 4") != std::string::npos);
  CHECK_FALSE(parse_manifest(kHeader + kHash + "  a\n" + kHash + "  a\n", &m, &err));  // duplicate
}
