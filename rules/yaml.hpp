// Read-only YAML documents for the rules loader, parsed with libyaml.
// yaml-cpp's scanner took ~4.5 ms of the ~7 ms it took to load the default
// rules on every `vigil run` start; libyaml's parser reads the same file in
// ~0.4 ms (docs/bench.md "Startup and memory"). The API is the subset of
// YAML::Node the loader uses, with the same meaning: plain ~/null/Null/NULL and
// empty scalars are null, lookups of missing keys give an undefined node
// (false in a boolean context), Mark() is the 0-based line/column where the
// node starts. Aliases share the anchored node; tags are ignored.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace vigil::rules::yaml {

struct Mark {
  int line = 0, column = 0;
};

struct Data {
  enum Kind { Null, Scalar, Sequence, Map } kind = Null;
  Mark mark;
  std::string scalar;
  std::vector<const Data*> kids;  // a map: key, value, key, value, ...
};

struct Item;

class Node {
 public:
  Node() = default;
  Node(const Data* d, yaml::Mark m) : d_(d), mark_(d ? d->mark : m) {}

  bool IsDefined() const { return d_ != nullptr; }
  explicit operator bool() const { return IsDefined(); }
  bool operator!() const { return !IsDefined(); }
  bool IsNull() const { return d_ && d_->kind == Data::Null; }
  bool IsScalar() const { return d_ && d_->kind == Data::Scalar; }
  bool IsSequence() const { return d_ && d_->kind == Data::Sequence; }
  bool IsMap() const { return d_ && d_->kind == Data::Map; }
  const std::string& Scalar() const;
  yaml::Mark Mark() const { return mark_; }
  // Elements of a sequence, pairs of a map; 0 otherwise.
  size_t size() const;
  // The value of a map's first key equal to `key`; undefined (with this
  // node's mark) if there is none or this is not a map.
  Node operator[](const std::string& key) const;
  // The scalar, or `fallback` for anything else.
  template <typename T>
  T as(const T& fallback) const {
    return IsScalar() ? d_->scalar : fallback;
  }

  class iterator;
  iterator begin() const;
  iterator end() const;

 private:
  const Data* d_ = nullptr;
  yaml::Mark mark_;
};

// What iterating yields: the element (a sequence), or first/second (a map).
struct Item : Node {
  Node first, second;
};

class Node::iterator {
 public:
  iterator(const Data* d, size_t i) : d_(d), i_(i) {}
  Item operator*() const;
  std::unique_ptr<Item> operator->() const { return std::make_unique<Item>(**this); }
  iterator& operator++() {
    i_ += d_ && d_->kind == Data::Map ? 2 : 1;
    return *this;
  }
  bool operator==(const iterator& o) const { return i_ == o.i_; }
  bool operator!=(const iterator& o) const { return i_ != o.i_; }

 private:
  const Data* d_;
  size_t i_;
};

// The documents of one YAML stream; nodes point into it.
struct Stream {
  std::deque<Data> storage;
  std::vector<Node> documents;
};

struct ParseError {
  Mark mark;
  std::string msg;
};

// Throws ParseError on invalid YAML.
std::unique_ptr<Stream> load_all(const std::string& text);

}  // namespace vigil::rules::yaml
