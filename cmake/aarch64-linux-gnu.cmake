# CMake toolchain file: vigil for arm64 (AWS Graviton) from an x86_64 Debian 12,
# with Debian's cross compiler and the arm64 -dev packages installed through
# multiarch (scripts/cross-arm64.sh installs both and runs the build):
#   cmake -S . -B build-arm64 --toolchain cmake/aarch64-linux-gnu.cmake
# Binaries built for the host during the build: none. Tests need an arm64
# machine or the VM (tests/vm/arm64.sh, docs/arm64.md).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_STRIP aarch64-linux-gnu-strip CACHE FILEPATH "strip for the target's binaries")
# Headers and libraries: Debian's multiarch paths (/usr/include/aarch64-linux-gnu,
# /usr/lib/aarch64-linux-gnu) are searched through CMAKE_LIBRARY_ARCHITECTURE;
# the arch-independent ones (nlohmann-json, catch2, the fmt/spdlog headers) in /usr.
# libyaml-cpp-dev:arm64 conflicts with the native package: scripts/cross-arm64.sh
# unpacks it into $VIGIL_CACHE/arm64-sysroot.
if(DEFINED ENV{VIGIL_CACHE})
  set(_vigil_arm64_sysroot $ENV{VIGIL_CACHE}/arm64-sysroot)
else()
  set(_vigil_arm64_sysroot /var/cache/vigil/arm64-sysroot)
endif()
if(NOT IS_DIRECTORY ${_vigil_arm64_sysroot}/usr/lib/aarch64-linux-gnu)
  message(FATAL_ERROR "aarch64 toolchain: ${_vigil_arm64_sysroot} is missing: run scripts/cross-arm64.sh (as root) first")
endif()
list(APPEND CMAKE_PREFIX_PATH ${_vigil_arm64_sysroot}/usr)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config: only the arm64 .pc files (and the arch-independent ones)
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")
# (the minimal static libcurl for this target: scripts/curl-minimal.sh with VIGIL_CURL_HOST)
set(ENV{VIGIL_CURL_HOST} aarch64-linux-gnu)
# The rootfs's ELF interpreter and libraries are resolved in the target's sysroot.
set(VIGIL_TARGET_SYSROOT /usr/aarch64-linux-gnu)
# Build-time generators (probes/gen: the seccomp program) and Catch2's test
# discovery run arm64 programs: qemu-user, with the target's loader and libc.
find_program(VIGIL_QEMU_AARCH64 qemu-aarch64-static)
if(NOT VIGIL_QEMU_AARCH64)
  message(FATAL_ERROR "aarch64 toolchain: qemu-aarch64-static is missing (it runs the build's generators): "
                      "run scripts/cross-arm64.sh (installs qemu-user-static)")
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${VIGIL_QEMU_AARCH64} -L /usr/aarch64-linux-gnu)
