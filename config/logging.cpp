#include <unistd.h>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "config/config.hpp"

namespace vigil {

void setup_logging(TraceLevel level) {
  auto logger = spdlog::stderr_logger_mt("vigil");
  logger->set_pattern(fmt::format("vigil[{}] %l: %v", getpid()));
  static constexpr spdlog::level::level_enum kMap[] = {spdlog::level::off, spdlog::level::err, spdlog::level::warn,
                                                       spdlog::level::info, spdlog::level::debug};
  logger->set_level(kMap[static_cast<int>(level)]);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace vigil
