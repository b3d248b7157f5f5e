# cmake -P script run by the `rootfs` target (cmake/rootfs.cmake). Builds the
# self-contained rootfs next to OUT, then renames it into place:
#   lib64/   the ELF interpreter (ld-linux-*.so.*) and every shared library in
#            the DT_NEEDED closure of bin/vigil, resolved here at build time
#   bin/vigil   stripped copy of the built binary
#   bin/vigil-launch   stripped copy of the static launcher (wrapper/launch.c):
#               the hardened start, ROOTFS/bin/vigil-launch run -- APP...
#   etc/vigil/  README, ca-certificates.crt, rules/*.yaml (if any)
#   MANIFEST    format version, vigil version, "sha256  path" per file
# Inputs (-D): VIGIL LAUNCH OUT VERSION STRIP CA_FILE RULES_DIR README BUDGET_MB
#   optional LIBDIRS: more directories to resolve libraries in (a cross build's
#   target libraries); every library must be of bin/vigil's machine (ELF e_machine)
cmake_minimum_required(VERSION 3.25)

foreach(v VIGIL LAUNCH OUT VERSION STRIP CA_FILE RULES_DIR README BUDGET_MB)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "mkrootfs: -D${v}=... is required (run through the rootfs target; STRIP needs binutils)")
  endif()
endforeach()

set(stage ${OUT}.new)
file(REMOVE_RECURSE ${stage})
file(MAKE_DIRECTORY ${stage}/lib64 ${stage}/bin ${stage}/etc/vigil)

# Shared libraries: the recursive DT_NEEDED closure, as the dynamic loader
# would resolve it on this build host. Nothing may stay unresolved.
# (A cross build's: CMake picks libraries of the executable's ELF machine,
# e.g. /usr/lib/aarch64-linux-gnu from multiarch, then LIBDIRS.)
file(GET_RUNTIME_DEPENDENCIES
  EXECUTABLES ${VIGIL}
  RESOLVED_DEPENDENCIES_VAR libs
  UNRESOLVED_DEPENDENCIES_VAR missing
  DIRECTORIES ${LIBDIRS})
if(missing)
  message(FATAL_ERROR "mkrootfs: cannot resolve shared libraries needed by ${VIGIL}: ${missing} (install them, see scripts/deps.sh;"
                      " for an arm64 build scripts/cross-arm64.sh)")
endif()
file(READ ${VIGIL} machine OFFSET 18 LIMIT 2 HEX)  # ELF e_machine: 3e00 x86_64, b700 aarch64
set(loader "")
foreach(lib ${libs})
  get_filename_component(name ${lib} NAME)  # the SONAME-named path the loader asks for
  file(REAL_PATH ${lib} real)                 # copy the content, not the symlink
  file(READ ${real} lib_machine OFFSET 18 LIMIT 2 HEX)
  if(NOT lib_machine STREQUAL machine)
    message(FATAL_ERROR "mkrootfs: ${real} (ELF machine ${lib_machine}) is not for ${VIGIL}'s machine (${machine}): "
                        "install the target's libc (scripts/cross-arm64.sh) or pass its directory in LIBDIRS")
  endif()
  file(COPY_FILE ${real} ${stage}/lib64/${name})
  if(name MATCHES "^ld-linux.*\\.so\\.[0-9]+$")
    set(loader ${name})
    set(real_loader ${real})
  endif()
endforeach()
if(loader STREQUAL "")
  message(FATAL_ERROR "mkrootfs: no ld-linux loader among the dependencies of ${VIGIL}: ${libs}")
endif()

# The bundled loader never reads the app image's /etc/ld.so.preload (which
# the app may write, then restart its container: code in vigil). Its one
# copy of the path becomes one of the same length that no process can create
# (procfs): docs/threat-model.md.
file(READ ${stage}/lib64/${loader} hex HEX)
string(HEX "/etc/ld.so.preload" from)
string(HEX "/proc/self/nonexis" to)
string(FIND "${hex}" "${from}" first)
string(FIND "${hex}" "${from}" last REVERSE)
if(first EQUAL -1 OR NOT first EQUAL last)
  message(FATAL_ERROR "mkrootfs: expected the path /etc/ld.so.preload exactly once in ${loader} (at ${first}, ${last})")
endif()
execute_process(COMMAND env LC_ALL=C sed -i "s|/etc/ld\\.so\\.preload|/proc/self/nonexis|" ${stage}/lib64/${loader}
                RESULT_VARIABLE rc)
file(READ ${stage}/lib64/${loader} hex HEX)
string(FIND "${hex}" "${to}" at)
file(SIZE ${stage}/lib64/${loader} patched_size)
file(SIZE ${real_loader} original_size)
if(NOT rc EQUAL 0 OR at EQUAL -1 OR NOT patched_size EQUAL original_size)
  message(FATAL_ERROR "mkrootfs: patching /etc/ld.so.preload out of ${loader} failed")
endif()

execute_process(COMMAND ${STRIP} --strip-all -o ${stage}/bin/vigil ${VIGIL} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mkrootfs: '${STRIP} --strip-all ${VIGIL}' failed (${rc})")
endif()

# The launcher is static (no ELF interpreter, nothing to resolve) and of vigil's machine.
file(READ ${LAUNCH} launch_machine OFFSET 18 LIMIT 2 HEX)
file(STRINGS ${LAUNCH} launch_interp REGEX "^\\.interp$" LIMIT_COUNT 1)  # section of a dynamic executable
if(NOT launch_machine STREQUAL machine OR launch_interp)
  message(FATAL_ERROR "mkrootfs: ${LAUNCH} must be a static executable for ${VIGIL}'s machine (${machine}); "
                      "it has machine ${launch_machine}, .interp section '${launch_interp}' (empty: static)")
endif()
execute_process(COMMAND ${STRIP} --strip-all -o ${stage}/bin/vigil-launch ${LAUNCH} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "mkrootfs: '${STRIP} --strip-all ${LAUNCH}' failed (${rc})")
endif()

file(COPY_FILE ${README} ${stage}/etc/vigil/README)
file(COPY_FILE ${CA_FILE} ${stage}/etc/vigil/ca-certificates.crt)
file(GLOB rules ${RULES_DIR}/*.yaml)
if(rules)
  file(MAKE_DIRECTORY ${stage}/etc/vigil/rules)
  file(COPY ${rules} DESTINATION ${stage}/etc/vigil/rules)
endif()

# Permissions before hashing: executables 0755, the rest 0644 (vigil init
# installs them a=rX). Then the manifest, sorted by path.
file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE ${stage} ${stage}/*)
list(SORT files)
set(manifest "# vigil-rootfs-manifest 1\n# version ${VERSION}\n")
set(total 0)
set(table "")
foreach(f ${files})
  if(f STREQUAL "bin/vigil" OR f STREQUAL "bin/vigil-launch" OR f STREQUAL "lib64/${loader}")
    file(CHMOD ${stage}/${f} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  else()
    file(CHMOD ${stage}/${f} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()
  file(SHA256 ${stage}/${f} sum)
  string(APPEND manifest "${sum}  ${f}\n")
  file(SIZE ${stage}/${f} size)
  math(EXPR total "${total} + ${size}")
  math(EXPR kb "${size} / 1024")
  string(APPEND table "  ${kb} KB\t${f}\n")
endforeach()
file(WRITE ${stage}/MANIFEST "${manifest}")
file(CHMOD ${stage}/MANIFEST PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

file(REMOVE_RECURSE ${OUT})
file(RENAME ${stage} ${OUT})

math(EXPR budget "${BUDGET_MB} * 1024 * 1024")
math(EXPR total_kb "${total} / 1024")
message(STATUS "rootfs: ${OUT}, vigil ${VERSION}, loader lib64/${loader}\n${table}  ${total_kb} KB total (budget ${BUDGET_MB} MB)")
if(total GREATER budget)
  message(WARNING "rootfs: ${OUT} is ${total_kb} KB, over its ${BUDGET_MB} MB budget: test shell.init_rootfs will fail. "
                  "Drop or slim the largest libraries above (docs/rootfs.md, size table).")
endif()
