// ECS task metadata endpoint v4: fetched once, stamped on every record.
#include <curl/curl.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sinks/internal.hpp"

namespace vigil {
namespace {

size_t append(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<std::string*>(user);
  if (s->size() > (4u << 20)) return 0;  // a metadata document is a few kB
  s->append(data, size * n);
  return size * n;
}

bool get_json(const std::string& url, long timeout_ms, nlohmann::json* out, std::string* error) {
  CURL* c = curl_easy_init();
  std::string body;
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, std::max(timeout_ms, 1L));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, append);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  CURLcode rc = curl_easy_perform(c);
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK) {
    *error = fmt::format("GET {}: {}", url, *errbuf ? errbuf : curl_easy_strerror(rc));
    return false;
  }
  if (code != 200) {
    *error = fmt::format("GET {}: HTTP {}", url, code);
    return false;
  }
  *out = nlohmann::json::parse(body, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    *error = fmt::format("GET {}: the answer is not a JSON object", url);
    return false;
  }
  return true;
}

std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

bool fetch_ecs_metadata(const std::string& uri, std::chrono::milliseconds timeout, nlohmann::json* out,
                        std::string* error) {
  sinks_detail::curl_init_once();
  auto until = sinks_detail::Clock::now() + timeout;
  auto left = [&] {
    return long(std::chrono::duration_cast<std::chrono::milliseconds>(until - sinks_detail::Clock::now()).count());
  };
  nlohmann::json container, task;
  if (!get_json(uri, left(), &container, error) || !get_json(uri + "/task", left(), &task, error)) {
    *error = fmt::format("ECS task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4): {}", *error);
    return false;
  }
  nlohmann::json m = nlohmann::json::object();
  auto put = [&](const char* name, const std::string& v) {
    if (!v.empty()) m[name] = v;
  };
  put("cluster", str(task, "Cluster"));
  put("task_arn", str(task, "TaskARN"));
  put("task_family", str(task, "Family"));
  put("task_revision", str(task, "Revision"));
  put("availability_zone", str(task, "AvailabilityZone"));
  put("launch_type", str(task, "LaunchType"));
  put("container_name", str(container, "Name"));
  put("container_arn", str(container, "ContainerARN"));
  put("container_id", str(container, "DockerId"));
  put("image", str(container, "Image"));
  put("image_id", str(container, "ImageID"));
  if (!m.contains("task_arn")) {
    *error = fmt::format("ECS task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4): GET {}/task has no TaskARN", uri);
    return false;
  }
  *out = std::move(m);
  return true;
}

}  // namespace vigil
