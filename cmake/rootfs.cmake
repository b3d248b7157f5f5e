# The `rootfs` target: assembles build/rootfs/, the self-contained tree that
# `vigil init` copies into a task volume (layout and manifest: docs/rootfs.md).
# The work is done at build time by cmake/mkrootfs.cmake, which resolves the
# shared libraries from the binary's DT_NEEDED entries.

set(VIGIL_ROOTFS_BUDGET_MB 20 CACHE STRING "Size budget of build/rootfs in MB (checked by shell.init_rootfs)")

set(_rootfs_dir ${CMAKE_BINARY_DIR}/rootfs)
file(GLOB _rootfs_rules CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/rules/default/*.yaml)
set(_rootfs_ca /etc/ssl/certs/ca-certificates.crt)
if(NOT EXISTS ${_rootfs_ca})
  message(FATAL_ERROR "rootfs: ${_rootfs_ca} is missing: install the ca-certificates package (scripts/deps.sh)")
endif()

# A cross build resolves the target's libraries (and ELF loader) in its sysroot
# too (cmake/aarch64-linux-gnu.cmake sets VIGIL_TARGET_SYSROOT).
set(_rootfs_libdirs "")
if(CMAKE_CROSSCOMPILING AND VIGIL_TARGET_SYSROOT)
  set(_rootfs_libdirs ${VIGIL_TARGET_SYSROOT}/lib)
endif()

add_custom_command(
  OUTPUT ${_rootfs_dir}/MANIFEST
  COMMAND ${CMAKE_COMMAND}
          -DVIGIL=$<TARGET_FILE:vigil>
          -DLAUNCH=$<TARGET_FILE:vigil-launch>
          -DOUT=${_rootfs_dir}
          -DVERSION=${PROJECT_VERSION}
          -DSTRIP=${CMAKE_STRIP}
          -DCA_FILE=${_rootfs_ca}
          -DRULES_DIR=${PROJECT_SOURCE_DIR}/rules/default
          -DREADME=${PROJECT_SOURCE_DIR}/cmake/rootfs-etc-README
          -DBUDGET_MB=${VIGIL_ROOTFS_BUDGET_MB}
          "-DLIBDIRS=${_rootfs_libdirs}"
          -P ${PROJECT_SOURCE_DIR}/cmake/mkrootfs.cmake
  DEPENDS vigil vigil-launch ${PROJECT_SOURCE_DIR}/cmake/mkrootfs.cmake ${PROJECT_SOURCE_DIR}/cmake/rootfs-etc-README
          ${_rootfs_rules} ${_rootfs_ca}
  COMMENT "Assembling the self-contained rootfs in ${_rootfs_dir}"
  VERBATIM)
add_custom_target(rootfs ALL DEPENDS ${_rootfs_dir}/MANIFEST)
