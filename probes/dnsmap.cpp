#include "probes/dnsmap.hpp"

#include "probes/sockaddr.hpp"

namespace vigil {

void DnsMap::add(std::string_view name, std::string_view ip_in) {
  std::string ip = unmap_v4(ip_in);
  if (auto it = index_.find(ip); it != index_.end()) {
    it->second->second = std::string(name);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(ip, std::string(name));
  index_.emplace(std::move(ip), lru_.begin());
  if (index_.size() > cap_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

std::optional<std::string> DnsMap::name_for(std::string_view ip_in) {
  auto it = index_.find(unmap_v4(ip_in));
  if (it == index_.end()) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

}  // namespace vigil
