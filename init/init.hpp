// vigil init: install the self-contained rootfs into a task volume.
//
// `vigil init [--volume DIR] [--source DIR]` copies the rootfs it runs from
// (or --source) to DIR/rootfs (DIR: --volume, else $VIGIL_VOLUME, else /vigil)
// atomically, idempotently and verified against the rootfs MANIFEST.
// Behaviour, manifest format and errors: docs/rootfs.md.
#pragma once

#include <string>
#include <vector>

namespace vigil {

int cmd_init(int argc, char** argv);

// The rootfs MANIFEST (docs/rootfs.md):
//   # vigil-rootfs-manifest 1
//   # version 0.1.0
//   <sha256 hex>  <relative/path>      one line per file, sorted by path
struct RootfsManifest {
  struct File {
    std::string sha256;  // 64 lowercase hex digits
    std::string path;    // relative, no "." or ".." components
  };
  std::string version;
  std::vector<File> files;
};

// Parses MANIFEST text. On bad input returns false and sets *error to one
// line naming the line number and what is wrong.
bool parse_manifest(const std::string& text, RootfsManifest* out, std::string* error);

}  // namespace vigil
