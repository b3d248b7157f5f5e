// Which DNS name an address was resolved from: filled from decoded DNS
// answers, queried when a process later connects/sends to that address, so
// network events carry the name the app asked for. Bounded LRU (IPv4-mapped
// IPv6 addresses are stored and looked up as IPv4).
#pragma once

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vigil {

class DnsMap {
 public:
  explicit DnsMap(size_t capacity = 4096) : cap_(capacity ? capacity : 1) {}
  // Records that name resolved to ip (the most recent name for an ip wins).
  void add(std::string_view name, std::string_view ip);
  // The name ip was last resolved from; refreshes its LRU position.
  std::optional<std::string> name_for(std::string_view ip);
  size_t size() const { return index_.size(); }

 private:
  using Entry = std::pair<std::string, std::string>;  // ip, name
  size_t cap_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace vigil
