#include "rules/yaml.hpp"

#include <yaml.h>

#include <map>

namespace vigil::rules::yaml {
namespace {

// libyaml's parser as an RAII handle.
struct Parser {
  yaml_parser_t p;
  explicit Parser(const std::string& text) {
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~Parser() { yaml_parser_delete(&p); }
  [[noreturn]] void fail() const {
    std::string msg = p.problem ? p.problem : "parse error";
    if (p.context) msg += std::string(" ") + p.context;
    const yaml_mark_t& m = p.problem ? p.problem_mark : p.context_mark;
    throw ParseError{{int(m.line), int(m.column)}, msg};
  }
};

struct Event {
  yaml_event_t e;
  ~Event() { yaml_event_delete(&e); }
};

bool is_null(const yaml_event_t& e) {
  if (e.data.scalar.style != YAML_PLAIN_SCALAR_STYLE || e.data.scalar.tag) return false;
  std::string v(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

}  // namespace

const std::string& Node::Scalar() const {
  static const std::string kEmpty;
  return IsScalar() ? d_->scalar : kEmpty;
}

size_t Node::size() const {
  if (IsSequence()) return d_->kids.size();
  if (IsMap()) return d_->kids.size() / 2;
  return 0;
}

Node Node::operator[](const std::string& key) const {
  if (IsMap())
    for (size_t i = 0; i + 1 < d_->kids.size(); i += 2)
      if (d_->kids[i]->kind == Data::Scalar && d_->kids[i]->scalar == key) return Node(d_->kids[i + 1], mark_);
  return Node(nullptr, mark_);
}

Node::iterator Node::begin() const { return iterator(d_, 0); }
Node::iterator Node::end() const { return iterator(d_, IsSequence() || IsMap() ? d_->kids.size() : 0); }

Item Node::iterator::operator*() const {
  Item it;
  if (d_->kind == Data::Map) {
    it.first = Node(d_->kids[i_], d_->mark);
    it.second = Node(d_->kids[i_ + 1], d_->mark);
  } else {
    static_cast<Node&>(it) = Node(d_->kids[i_], d_->mark);
  }
  return it;
}

std::unique_ptr<Stream> load_all(const std::string& text) {
  auto out = std::make_unique<Stream>();
  Parser parser(text);
  std::vector<Data*> open;  // sequences and maps being filled
  std::map<std::string, const Data*> anchors;
  auto add = [&](const Data* d) {
    if (open.empty()) out->documents.push_back(Node(d, d->mark));
    else open.back()->kids.push_back(d);
  };
  auto anchor = [&](const yaml_char_t* name, const Data* d) {
    if (name) anchors[reinterpret_cast<const char*>(name)] = d;
  };
  for (;;) {
    Event ev;
    if (!yaml_parser_parse(&parser.p, &ev.e)) parser.fail();
    const yaml_event_t& e = ev.e;
    const Mark mark{int(e.start_mark.line), int(e.start_mark.column)};
    switch (e.type) {
      case YAML_STREAM_END_EVENT: return out;
      case YAML_SCALAR_EVENT: {
        Data& d = out->storage.emplace_back();
        d.mark = mark;
        d.kind = is_null(e) ? Data::Null : Data::Scalar;
        if (d.kind == Data::Scalar) d.scalar.assign(reinterpret_cast<const char*>(e.data.scalar.value), e.data.scalar.length);
        anchor(e.data.scalar.anchor, &d);
        add(&d);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        Data& d = out->storage.emplace_back();
        d.mark = mark;
        d.kind = e.type == YAML_SEQUENCE_START_EVENT ? Data::Sequence : Data::Map;
        anchor(e.type == YAML_SEQUENCE_START_EVENT ? e.data.sequence_start.anchor : e.data.mapping_start.anchor, &d);
        add(&d);
        open.push_back(&d);
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: open.pop_back(); break;
      case YAML_ALIAS_EVENT: {
        auto a = anchors.find(reinterpret_cast<const char*>(e.data.alias.anchor));
        if (a == anchors.end()) throw ParseError{mark, "unknown anchor referenced by an alias"};
        add(a->second);
        break;
      }
      default: break;  // stream/document start, no event
    }
  }
}

}  // namespace vigil::rules::yaml
